package member

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"hadron.dev/hadron/internal/pki"
)

// certCopy keeps the member's certificate and key in one private file that embedded
// etcd reads at every handshake (etcd's TLSInfo reads its files again each time, which
// is how it picks up a rotated certificate). etcd is not pointed at the site's two files
// themselves because a rotation replaces them one after the other, and an operator may
// copy them by hand: in between, etcd would read a key that does not match the
// certificate and fail handshakes. The copy is rewritten, by one rename, only when the
// pair on disk matches again (pki.Pair keeps the last good pair meanwhile).
type certCopy struct {
	pair    *pki.Pair
	path    string
	written uint64
	log     *slog.Logger
}

// certCopyInterval is how often the site's files are looked at for a new pair.
const certCopyInterval = time.Second

func newCertCopy(pair *pki.Pair, dataDir string, log *slog.Logger) (*certCopy, error) {
	c := &certCopy{pair: pair, path: filepath.Join(dataDir, "tls", "member.pem"), log: log}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return nil, fmt.Errorf("member certificate copy: %w", err)
	}
	if err := c.sync(); err != nil {
		return nil, err
	}
	return c, nil
}

// sync writes the pair when it changed since the last write.
func (c *certCopy) sync() error {
	b, version := c.pair.Combined()
	if version == c.written {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".member.pem.*.tmp")
	if err != nil {
		return fmt.Errorf("member certificate copy: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("member certificate copy: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("member certificate copy: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("member certificate copy: %w", err)
	}
	if c.written != 0 {
		c.log.Info("etcd member certificate reloaded", "serial", c.pair.Leaf().SerialNumber.Text(16), "notAfter", c.pair.Leaf().NotAfter)
	}
	c.written = version
	return nil
}

// run keeps the copy current until ctx ends.
func (c *certCopy) run(ctx context.Context) {
	t := time.NewTicker(certCopyInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.sync(); err != nil {
			c.log.Warn("keeping the etcd member's certificate", "err", err)
		}
		if err := c.pair.Err(); err != nil {
			c.log.Debug("certificate files not taken (yet)", "err", err)
		}
	}
}
