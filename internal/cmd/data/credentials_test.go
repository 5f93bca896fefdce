package data

import (
	"strings"
	"testing"
)

// The example fleet keeps the password in a Secret on east's cluster: a data command
// goes there for it, and says where it looked when it cannot reach it (the example's
// kubeconfig does not exist).
func TestExampleFleetReadsThePasswordFromTheSecret(t *testing.T) {
	out, err := run(t, "../../../examples/fleet.yaml", "status", "shop-db")
	if err == nil {
		t.Fatalf("status of the example's mirror set succeeded:\n%s", out)
	}
	for _, want := range []string{"passwordFrom.secret shop/shop-db", `(key "password")`, "site east"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "not supported") {
		t.Errorf("error %q", err)
	}
}
