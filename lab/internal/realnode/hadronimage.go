package realnode

import (
	"fmt"
	"time"
)

// HadronRepository is the repository of hadron's own image (make images); the tag is
// the version. The Helm chart's image.repository defaults to it.
const HadronRepository = "hadron.dev/hadron"

// NonRootUID is the user hadron's image runs as: distroless's nonroot (65532).
const NonRootUID = 65532

// CACertificates is where Debian (and distroless) keep the CA bundle Go's TLS reads.
const CACertificates = "/etc/ssl/certs/ca-certificates.crt"

// HadronRelease says what is in a release image of hadron.
type HadronRelease struct {
	// Binary is the hadron executable, best built with CGO_ENABLED=0 so the image
	// holds no C library (a dynamic one brings its libraries along).
	Binary string
	// Version and Commit are what `hadron version` says (make's VERSION and COMMIT).
	Version, Commit string
	// Created is the commit's time (SOURCE_DATE_EPOCH): every file and the config
	// carry it, so building the same commit twice gives the same digest.
	Created time.Time
	// Source is the repository's address (org.opencontainers.image.source).
	Source string
}

// HadronSpec is the image of hadron's daemon and CLI, distroless-style: the binary
// (and its libraries, if it has any), the host's CA bundle, /etc/passwd and
// /etc/group naming the nonroot user, nothing else — no shell, no package manager.
// It runs as 65532:65532 with `hadron` as its entrypoint (the chart passes `serve ...`).
func HadronSpec(r HadronRelease) (ImageSpec, error) {
	if r.Binary == "" || r.Version == "" {
		return ImageSpec{}, fmt.Errorf("hadron image: the binary and the version are required")
	}
	uid := fmt.Sprint(NonRootUID)
	labels := map[string]string{
		"org.opencontainers.image.title":    "hadron",
		"org.opencontainers.image.version":  r.Version,
		"org.opencontainers.image.revision": r.Commit,
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	if r.Source != "" {
		labels["org.opencontainers.image.source"] = r.Source
	}
	if !r.Created.IsZero() {
		labels["org.opencontainers.image.created"] = r.Created.UTC().Format(time.RFC3339)
	}
	return ImageSpec{
		Ref: HadronRepository + ":" + r.Version,
		Files: []File{
			{Host: r.Binary, Image: "/usr/local/bin/hadron"},
			{Host: CACertificates, Image: CACertificates},
		},
		Generated: []Generated{
			{Path: "/etc/passwd", Body: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:" + uid + ":" + uid + ":nonroot:/home/nonroot:/sbin/nologin\n"), Mode: 0o644},
			{Path: "/etc/group", Body: []byte("root:x:0:\nnonroot:x:" + uid + ":\n"), Mode: 0o644},
		},
		Entrypoint: []string{"/usr/local/bin/hadron"},
		Env:        []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=" + CACertificates, "HOME=/tmp"},
		User:       uid + ":" + uid,
		Labels:     labels,
		Created:    r.Created,
	}, nil
}
