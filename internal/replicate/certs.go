package replicate

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"
)

// CertificateFindings checks a TLS secret's certificate (seed 001): every name
// clients use — the main name and each site's name — must be among its SANs, and it
// must not expire within window. The certificate's contents are parsed, never shown.
func CertificateFindings(site, secret string, certPEM []byte, names []string, now time.Time, window time.Duration) []Finding {
	at := func(level Level, msg, action string) Finding {
		return Finding{Check: "certificate", Site: site, Level: level, Message: "secret " + secret + ": " + msg, Action: action}
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return []Finding{at(LevelFail, "tls.crt holds no PEM certificate", "replace the secret with a valid certificate")}
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return []Finding{at(LevelFail, fmt.Sprintf("tls.crt does not parse: %v", err), "replace the secret with a valid certificate")}
	}
	var out []Finding
	var missing []string
	for _, n := range names {
		if n != "" && cert.VerifyHostname(strings.TrimSuffix(n, ".")) != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		out = append(out, at(LevelFail, "certificate does not cover "+strings.Join(missing, ", "),
			"reissue the certificate with SANs for the main name and every site's name"))
	} else {
		out = append(out, at(LevelOK, "certificate covers "+strings.Join(names, ", "), ""))
	}
	switch left := cert.NotAfter.Sub(now); {
	case left <= 0:
		out = append(out, at(LevelFail, "certificate expired on "+cert.NotAfter.UTC().Format(time.DateOnly), "renew the certificate"))
	case left < window:
		out = append(out, at(LevelFail, fmt.Sprintf("certificate expires on %s, within %s", cert.NotAfter.UTC().Format(time.DateOnly), window),
			"renew the certificate before a failover needs it"))
	default:
		out = append(out, at(LevelOK, "certificate valid until "+cert.NotAfter.UTC().Format(time.DateOnly), ""))
	}
	return out
}
