package apitoken

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// Bootstrap is the name of the token read from the PKI directory's api-token file.
// It holds every role (BootstrapRoles), so that a fleet works before anyone has
// created a token and so that someone can create the first ones; the name is reserved.
const Bootstrap = "bootstrap"

// BootstrapRoles are the bootstrap token's roles.
var BootstrapRoles = []Role{Operate, Daemon, Admin}

// Token is a stored token: never its secret, only the secret's hash.
type Token struct {
	Name  string `json:"name"`
	Roles []Role `json:"roles"`
	// SHA256 is the hex SHA-256 of the secret. The secret is 32 random bytes, so a
	// plain hash (no salt, no stretching) cannot be reversed by guessing.
	SHA256  string    `json:"sha256,omitempty"`
	Created time.Time `json:"created"`
	// CreatedBy is the name of the token that created this one.
	CreatedBy string `json:"createdBy,omitempty"`
}

// Identity is who a request's secret says is calling.
type Identity struct {
	Name  string `json:"name"`
	Roles []Role `json:"roles"`
}

// Identity is the token without its hash.
func (t Token) Identity() Identity { return Identity{Name: t.Name, Roles: t.Roles} }

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$`)

// CheckName says whether name can name a token: lowercase letters, digits, '.', '_'
// and '-', at most 63, not the bootstrap token's.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: name %q: want lowercase letters, digits, '.', '_' or '-' (at most 63, starting and ending with a letter or digit)", ErrInvalid, name)
	}
	if name == Bootstrap {
		return fmt.Errorf("%w: name %q is the PKI directory's api-token", ErrInvalid, name)
	}
	return nil
}

// NewSecret returns a new random secret: 32 bytes from crypto/rand, hex-encoded.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Hash is the hex SHA-256 of secret: what is stored and compared.
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
