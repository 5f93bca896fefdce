package serve

import (
	"strconv"
	"testing"

	"hadron.dev/hadron/internal/gslb/dnsserver"
)

// `hadron serve` is hardened without flags: rate limiting on with the same default as
// `hadron dns serve`, no _status records, and probes open unless asked.
func TestHardenedDefaults(t *testing.T) {
	fl := Command().Flags()
	for name, want := range map[string]string{
		"rrl-rate":          strconv.Itoa(dnsserver.DefaultRateLimit.Rate),
		"rrl-slip":          strconv.Itoa(dnsserver.DefaultRateLimit.Slip),
		"status-txt":        "false",
		"probes-need-token": "false",
	} {
		f := fl.Lookup(name)
		if f == nil || f.DefValue != want {
			t.Errorf("--%s: %v, want default %s", name, f, want)
		}
	}
	if dnsserver.DefaultRateLimit.Rate <= 0 {
		t.Fatalf("DefaultRateLimit %+v does not limit", dnsserver.DefaultRateLimit)
	}
}
