package postgres

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// The exchange of RFC 7677 section 3 (user "user", password "pencil"): the verifier's
// ServerKey must give the server signature the RFC shows, and its StoredKey must
// accept the RFC's client proof.
func TestScramVerifierRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	v, err := scramVerifier("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	head, keys, ok := strings.Cut(strings.TrimPrefix(v, "SCRAM-SHA-256$"), "$")
	if !ok || head != "4096:W22ZaJ0SNY7soEsUEjb6gQ==" {
		t.Fatalf("verifier %q", v)
	}
	stored64, server64, _ := strings.Cut(keys, ":")
	stored, _ := base64.StdEncoding.DecodeString(stored64)
	server, _ := base64.StdEncoding.DecodeString(server64)
	auth := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	if got := base64.StdEncoding.EncodeToString(hmacSHA256(server, auth)); got != "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Errorf("server signature %s", got)
	}
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	sig := hmacSHA256(stored, auth)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ sig[i]
	}
	if sum := sha256.Sum256(clientKey); !hmac.Equal(sum[:], stored) {
		t.Error("the RFC's client proof does not match StoredKey")
	}
}

func TestScramVerifierRefuses(t *testing.T) {
	for _, pw := range []string{"", "with space", "Sécret", "tab\t"} {
		if _, err := scramVerifier(pw, []byte("salt"), 4096); err == nil {
			t.Errorf("%q was hashed without SASLprep", pw)
		}
	}
}
