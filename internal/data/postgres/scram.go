package postgres

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// scramIterations is PostgreSQL's default scram_iterations.
const scramIterations = 4096

// scramVerifier is what PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802,
// RFC 7677): SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>. hadron sets
// passwords with it, as psql's \password does, so that the plaintext never travels in
// a statement that pg_stat_activity, a log line or an error could show; the server
// stores a verifier it receives as is.
//
// PostgreSQL normalizes a password with SASLprep before hashing it; for printable
// ASCII that is the identity, so password must be printable ASCII (hadron hashes only
// the passwords it derives itself).
func scramVerifier(password string, salt []byte, iterations int) (string, error) {
	for i := 0; i < len(password); i++ {
		if c := password[i]; c < 0x21 || c > 0x7e {
			return "", fmt.Errorf("scram verifier: the password must be printable ASCII (byte %d is %#x)", i, c)
		}
	}
	if password == "" || len(salt) == 0 || iterations < 1 {
		return "", fmt.Errorf("scram verifier: empty password or salt, or no iterations")
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("scram verifier: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}

// newScramVerifier hashes password with a fresh random salt of 16 bytes, as
// PostgreSQL does.
func newScramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("scram salt: %w", err)
	}
	return scramVerifier(password, salt, scramIterations)
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
