// Package objectstore runs a small S3-compatible object store over HTTPS: the backup
// repository of the lab and of the tests (pgBackRest speaks S3 over TLS only). It is
// github.com/johannesboyne/gofakes3 (MIT) with its in-memory backend: objects live as
// long as the store's process (its bbolt backend would keep them on disk but pulls in
// an unmaintained BSON module; see docs/design/backups.md). It does not check request signatures: any key pair is
// accepted, which is why it only ever listens where the lab puts it.
package objectstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Config is one store.
type Config struct {
	// Listen is host:port; port 0 picks a free one.
	Listen string
	// CertFile and KeyFile are the server's TLS certificate and key (internal/pki
	// issues them); both are required.
	CertFile, KeyFile string
	// Buckets are created at start when missing.
	Buckets []string
	Logger  *slog.Logger
}

// Store is a running object store.
type Store struct {
	backend *s3mem.Backend
	srv     *http.Server
	ln      net.Listener
	done    chan error
}

// Start opens the store's file, creates the buckets and serves HTTPS until Close.
func Start(cfg Config) (*Store, error) {
	switch {
	case cfg.CertFile == "" || cfg.KeyFile == "":
		return nil, errors.New("object store: certFile and keyFile are required (S3 clients such as pgBackRest speak HTTPS only)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("object store: certificate: %w", err)
	}
	be := s3mem.New()
	for _, b := range cfg.Buckets {
		ok, err := be.BucketExists(b)
		if err == nil && !ok {
			err = be.CreateBucket(b)
		}
		if err != nil {
			return nil, fmt.Errorf("object store: bucket %s: %w", b, err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("object store: %w", err)
	}
	faker := gofakes3.New(be, gofakes3.WithAutoBucket(false), gofakes3.WithLogger(logAdapter{cfg.Logger}))
	s := &Store{backend: be, ln: ln, done: make(chan error, 1), srv: &http.Server{
		Handler:           faker.Server(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}}
	go func() { s.done <- s.srv.ServeTLS(ln, "", "") }()
	return s, nil
}

// Addr is the address the store listens on.
func (s *Store) Addr() string { return s.ln.Addr().String() }

// Close stops serving; in-flight requests get ctx's time.
func (s *Store) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if e := <-s.done; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// Each calls fn with the key and the stored bytes of every object in bucket, in key
// order: what an attacker holding the store's disk would read.
func (s *Store) Each(bucket string, fn func(key string, body []byte) error) error {
	page := gofakes3.ListBucketPage{}
	for {
		list, err := s.backend.ListBucket(bucket, &gofakes3.Prefix{}, page)
		if err != nil {
			return fmt.Errorf("listing %s: %w", bucket, err)
		}
		for _, c := range list.Contents {
			obj, err := s.backend.GetObject(bucket, c.Key, nil)
			if err != nil {
				return fmt.Errorf("reading %s/%s: %w", bucket, c.Key, err)
			}
			body, err := io.ReadAll(obj.Contents)
			obj.Contents.Close()
			if err != nil {
				return fmt.Errorf("reading %s/%s: %w", bucket, c.Key, err)
			}
			if err := fn(c.Key, body); err != nil {
				return err
			}
		}
		if !list.IsTruncated || len(list.Contents) == 0 {
			return nil
		}
		page.Marker = list.Contents[len(list.Contents)-1].Key
		page.HasMarker = true
	}
}

// logAdapter sends gofakes3's messages to slog at debug level: its warnings are
// about clients' requests, which pgBackRest retries.
type logAdapter struct{ log *slog.Logger }

func (l logAdapter) Print(level gofakes3.LogLevel, v ...interface{}) {
	l.log.Debug(fmt.Sprint(v...), "component", "objectstore", "level", string(level))
}
