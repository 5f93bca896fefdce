package v1alpha1

import "testing"

func TestTLSEffectiveMode(t *testing.T) {
	file := &SecretRef{File: "x"}
	for _, tc := range []struct {
		name string
		tls  *TLS
		want TLSMode
	}{
		{"no tls section", nil, TLSDisable},
		{"empty section", &TLS{}, TLSDisable},
		{"a CA", &TLS{CA: file}, TLSVerifyFull},
		{"a CA and certificates", &TLS{CA: file, Members: []MemberCertificate{{Member: "a", Cert: file, Key: file}}}, TLSVerifyFull},
		{"certificates without a CA", &TLS{Members: []MemberCertificate{{Member: "a", Cert: file, Key: file}}}, TLSRequire},
		{"named mode wins", &TLS{Mode: TLSVerifyCA, CA: file}, TLSVerifyCA},
		{"disable named with a CA", &TLS{Mode: TLSDisable, CA: file}, TLSDisable},
	} {
		if got := tc.tls.EffectiveMode(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
