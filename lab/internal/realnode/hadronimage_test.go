package realnode

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The release spec names the version in the tag and the labels, runs as nonroot and
// holds only the binary, the CA bundle and the user files.
func TestHadronSpec(t *testing.T) {
	created := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	spec, err := HadronSpec(HadronRelease{Binary: "/x/hadron", Version: "v0.3.0", Commit: "abc123", Created: created, Source: "https://example.com/hadron"})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Ref != "hadron.dev/hadron:v0.3.0" || spec.User != "65532:65532" || spec.Entrypoint[0] != "/usr/local/bin/hadron" || !spec.Created.Equal(created) {
		t.Errorf("spec: ref %s user %s entrypoint %v created %s", spec.Ref, spec.User, spec.Entrypoint, spec.Created)
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.version":  "v0.3.0",
		"org.opencontainers.image.revision": "abc123",
		"org.opencontainers.image.source":   "https://example.com/hadron",
		"org.opencontainers.image.title":    "hadron",
		"org.opencontainers.image.created":  "2026-12-07T15:00:00Z",
	} {
		if spec.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, spec.Labels[k], v)
		}
	}
	if _, err := HadronSpec(HadronRelease{Binary: "/x/hadron"}); err == nil {
		t.Error("a release without a version was accepted")
	}
}

// Two builds of the same binary give the same digest, though the host file's time
// changed in between; the image runs as 65532 with hadron as its entrypoint and the
// labels of the release.
func TestHadronImageIsReproducible(t *testing.T) {
	// A real binary: make images' static hadron when it is there, else any
	// executable of the host (a dynamic one also brings its libraries).
	src := filepath.Join("..", "..", "..", "bin", "images", "hadron")
	if _, err := os.Stat(src); err != nil {
		src = "/bin/true"
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hadron")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	spec, err := HadronSpec(HadronRelease{Binary: bin, Version: "v0.0.0-test", Commit: "0123abc", Created: time.Unix(1765000000, 0), Source: "https://example.com/hadron"})
	if err != nil {
		t.Fatal(err)
	}
	var digests []string
	for i, mtime := range []time.Time{time.Unix(1000, 0), time.Now()} {
		if err := os.Chtimes(bin, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "hadron-"+string(rune('a'+i))+".tar")
		if err := BuildImage(context.Background(), spec, out); err != nil {
			t.Fatal(err)
		}
		d, err := ImageDigest(out, spec.Ref)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] {
		t.Fatalf("two builds of %s: digests %s and %s", src, digests[0], digests[1])
	}
	t.Logf("%s from %s: %s", spec.Ref, src, digests[0])

	tag, _ := name.NewTag(spec.Ref)
	img, err := tarball.ImageFromPath(filepath.Join(dir, "hadron-a.tar"), &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/usr/local/bin/hadron" {
		t.Errorf("config: user %q entrypoint %v", cf.Config.User, cf.Config.Entrypoint)
	}
	if cf.Config.Labels["org.opencontainers.image.version"] != "v0.0.0-test" || cf.Config.Labels["org.opencontainers.image.revision"] != "0123abc" {
		t.Errorf("labels: %v", cf.Config.Labels)
	}
	if !cf.Created.Equal(time.Unix(1765000000, 0)) {
		t.Errorf("config created %s, want the release's time", cf.Created)
	}
	files := map[string]*tar.Header{}
	rootfs := filepath.Join(dir, "rootfs")
	eachEntry(t, img, func(h *tar.Header, r io.Reader) {
		files[h.Name] = h
		if err := extract(rootfs, h, r); err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(time.Unix(1765000000, 0)) {
			t.Errorf("%s: mtime %s, want the release's time", h.Name, h.ModTime)
		}
	})
	for _, want := range []string{"usr/local/bin/hadron", "etc/ssl/certs/ca-certificates.crt", "etc/passwd", "etc/group", "tmp/"} {
		if files[want] == nil {
			t.Errorf("the image lacks /%s", want)
		}
	}
	if h := files["usr/local/bin/hadron"]; h != nil && h.Mode&0o111 == 0 {
		t.Errorf("/usr/local/bin/hadron mode %o: not executable", h.Mode)
	}
	for n := range files {
		switch n {
		case "bin/sh", "usr/bin/sh", "bin/bash":
			t.Errorf("the image holds a shell: /%s", n)
		}
	}

	// The image's files alone run the binary as the nonroot user: chroot into the
	// extracted layer (root only, as the container runtime would).
	if os.Geteuid() != 0 {
		t.Log("not root: the extracted image is not run")
		return
	}
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		t.Log("no chroot: the extracted image is not run")
		return
	}
	out, err := exec.Command(chroot, "--userspec=65532:65532", rootfs, "/usr/local/bin/hadron", "version").CombinedOutput()
	if err != nil {
		t.Errorf("the image's hadron as 65532 in its own files: %v\n%s", err, out)
	}
	t.Logf("in the image as 65532: %s", strings.TrimSpace(string(out)))
}

// extract writes one entry of a layer under root (directories, files, symlinks).
func extract(root string, h *tar.Header, r io.Reader) error {
	p := filepath.Join(root, h.Name)
	switch h.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(p, 0o755)
	case tar.TypeSymlink:
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.Symlink(h.Linkname, p)
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		return os.WriteFile(p, b, os.FileMode(h.Mode)&0o7777)
	}
	return nil
}
