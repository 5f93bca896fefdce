package ingress

import (
	"net/http"
	"testing"
)

func TestLightAnswer(t *testing.T) {
	ready := map[string]int32{"app-001": 2, "app-002": 0}
	of := func(app string) int32 { return ready[app] }
	tests := []struct {
		path    string
		app     string
		code    int
		handled bool
	}{
		{"/apps/app-001/healthz", "app-001", http.StatusOK, true},
		{"/apps/app-001/", "app-001", http.StatusOK, true},
		{"/apps/app-002/healthz", "app-002", http.StatusServiceUnavailable, true},
		// Not yet seen (or deleted): no ready replicas.
		{"/apps/app-003/healthz", "app-003", http.StatusServiceUnavailable, true},
		// Everything else is the demo's.
		{"/healthz", "", 0, false},
		{"/", "", 0, false},
		{"/apps/", "", 0, false},
	}
	for _, tt := range tests {
		app, code, handled := lightAnswer(tt.path, of)
		if app != tt.app || code != tt.code || handled != tt.handled {
			t.Errorf("lightAnswer(%q) = %q, %d, %v; want %q, %d, %v", tt.path, app, code, handled, tt.app, tt.code, tt.handled)
		}
	}
}
