package realnode

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ImageSpec is an image the lab builds from files of the host: no registry can be
// reached, so the images are made here from binaries that already run on this machine.
type ImageSpec struct {
	Ref string
	// Files are host files copied into the image; the shared libraries of the
	// executables among them (as ldd finds them here) come along at their host paths.
	Files []File
	// Generated are files written into the image from memory (/etc/passwd for a
	// program that looks its user up).
	Generated  []Generated
	Entrypoint []string
	Env        []string
	User       string
	// Labels go into the image's config (org.opencontainers.image.* for a release).
	Labels map[string]string
	// Created is the time the config and every file of the layer carry (the Unix
	// epoch when zero): with it fixed, the same files give the same digest, whenever
	// and wherever the image is built.
	Created time.Time
}

// Generated is a file of the image that is not on the host.
type Generated struct {
	Path string
	Body []byte
	Mode int64
}

// File is a host file and its path in the image (the host path when Image is empty).
type File struct{ Host, Image string }

// BuildImage writes spec as a docker-archive tarball at out, the form `ctr images
// import` reads.
func BuildImage(ctx context.Context, spec ImageSpec, out string) error {
	files, err := withLibraries(ctx, spec.Files)
	if err != nil {
		return fmt.Errorf("image %s: %w", spec.Ref, err)
	}
	created := spec.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	created = created.UTC()
	layerTar, err := tarFiles(files, spec.Generated, created)
	if err != nil {
		return fmt.Errorf("image %s: %w", spec.Ref, err)
	}
	// Stored without compression (a gzip stream of level 0): the tarball goes from one
	// disk to the next on the same machine, and compressing a PostgreSQL image costs
	// a minute of a busy CPU.
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithCompressionLevel(gzip.NoCompression))
	if err != nil {
		return fmt.Errorf("image %s: layer: %w", spec.Ref, err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer,
		History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "hadron-lab BuildImage " + spec.Ref}})
	if err != nil {
		return fmt.Errorf("image %s: %w", spec.Ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("image %s: config: %w", spec.Ref, err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	env := spec.Env
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, env...)
	}
	cf.Created = v1.Time{Time: created}
	cf.Config = v1.Config{Entrypoint: spec.Entrypoint, Env: env, User: spec.User, Labels: spec.Labels}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return fmt.Errorf("image %s: config: %w", spec.Ref, err)
	}
	tag, err := name.NewTag(spec.Ref)
	if err != nil {
		return fmt.Errorf("image %s: %w", spec.Ref, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("image %s: %w", spec.Ref, err)
	}
	if err := tarball.WriteToFile(out, tag, img); err != nil {
		return fmt.Errorf("image %s: write %s: %w", spec.Ref, out, err)
	}
	return nil
}

// withLibraries adds the shared libraries the ELF files among files need, found as the
// dynamic loader would find them on this host (DT_NEEDED, searched in RUNPATH and the
// system's library directories), and their loader (PT_INTERP); a static binary adds
// nothing. It reads the ELF headers itself: one ldd per file is minutes for a package
// of a thousand files on a busy machine.
func withLibraries(ctx context.Context, files []File) ([]File, error) {
	set := map[string]string{}
	var queue []string
	for _, file := range files {
		dst := file.Image
		if dst == "" {
			dst = file.Host
		}
		set[file.Host] = dst
		queue = append(queue, file.Host)
	}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f := queue[0]
		queue = queue[1:]
		deps, err := elfDeps(f)
		if err != nil {
			return nil, err
		}
		for _, d := range deps {
			if _, ok := set[d]; !ok {
				set[d] = d
				queue = append(queue, d)
			}
		}
	}
	var out []File
	for h, i := range set {
		out = append(out, File{Host: h, Image: i})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Image < out[b].Image })
	return out, nil
}

// libDirs are the directories the dynamic loader searches on Debian amd64.
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// elfDeps returns the loader and the resolved DT_NEEDED libraries of path, or nothing
// when path is not a dynamic ELF file.
func elfDeps(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, nil // not ELF: data, a script
	}
	defer f.Close()
	var out []string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err == nil {
				out = append(out, strings.TrimRight(string(b), "\x00"))
			}
		}
	}
	needed, err := f.ImportedLibraries()
	if err != nil || len(needed) == 0 {
		return out, nil
	}
	dirs := []string{}
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		if rp, err := f.DynString(tag); err == nil {
			for _, r := range rp {
				for _, d := range strings.Split(r, ":") {
					dirs = append(dirs, strings.ReplaceAll(d, "$ORIGIN", filepath.Dir(path)))
				}
			}
		}
	}
	dirs = append(dirs, libDirs...)
	for _, lib := range needed {
		found := ""
		for _, d := range dirs {
			if p := filepath.Join(d, lib); fileExists(p) {
				found = p
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("%s needs %s, not found in %v", path, lib, dirs)
		}
		out = append(out, found)
	}
	return out, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// tarFiles makes a layer of the host files. A symlink is stored as one and its target
// too, so /lib64/ld-linux-x86-64.so.2 resolves in the image as on the host; a named file
// whose image path differs from its host path is stored as a regular file there.
func tarFiles(files []File, generated []Generated, mtime time.Time) ([]byte, error) {
	type entry struct {
		hdr  tar.Header
		body []byte
	}
	var entries []entry
	dirs := map[string]bool{"/tmp": true}
	seen := map[string]bool{}
	var add func(host, dst string, follow bool) error
	add = func(host, dst string, follow bool) error {
		if seen[dst] {
			return nil
		}
		seen[dst] = true
		for d := filepath.Dir(dst); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
		fi, err := os.Lstat(host)
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 && !follow {
			target, err := os.Readlink(host)
			if err != nil {
				return err
			}
			entries = append(entries, entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: strings.TrimPrefix(dst, "/"), Linkname: target, Mode: 0o777}})
			abs := target
			if !filepath.IsAbs(abs) {
				abs = filepath.Join(filepath.Dir(host), target)
			}
			return add(abs, abs, false)
		}
		b, err := os.ReadFile(host)
		if err != nil {
			return err
		}
		fi, err = os.Stat(host)
		if err != nil {
			return err
		}
		entries = append(entries, entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(dst, "/"), Mode: int64(fi.Mode().Perm()), Size: int64(len(b))}, body: b})
		return nil
	}
	for _, f := range files {
		if err := add(f.Host, f.Image, f.Host != f.Image); err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
	}
	for _, g := range generated {
		if seen[g.Path] {
			continue
		}
		seen[g.Path] = true
		for d := filepath.Dir(g.Path); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
		entries = append(entries, entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(g.Path, "/"), Mode: g.Mode, Size: int64(len(g.Body))}, body: g.Body})
	}
	// Entries in the order of their paths, so the layer does not depend on the order
	// the files were named in.
	sort.SliceStable(entries, func(a, b int) bool { return entries[a].hdr.Name < entries[b].hdr.Name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// Directories first, parents before children, so every entry has its parent; /tmp
	// exists in every image (Go's os.TempDir, PostgreSQL's sockets expect it).
	var ds []string
	for d := range dirs {
		ds = append(ds, d)
	}
	sort.Strings(ds)
	for _, d := range ds {
		mode := int64(0o755)
		if d == "/tmp" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: mode, ModTime: mtime}); err != nil {
			return nil, err
		}
	}
	for _, e := range entries {
		e.hdr.ModTime = mtime
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// PostgresImage is PostgreSQL 15 as Debian packages it, for members in pods.
const PostgresImage = "hadron.dev/lab/postgres:15"

// HadronInImage is where PostgresImage holds the hadron binary.
const HadronInImage = "/usr/local/bin/hadron"

// PostgresUID is the postgres user of PostgresImage (PostgreSQL refuses to run as root).
const PostgresUID = 999

// PostgresSpec is an image of the files of Debian's postgresql-15 and
// postgresql-client-15 packages as installed on this host (the server's binaries,
// pg_basebackup, libraries and share directory), Debian's pgbackrest (the member
// archives its WAL and takes its base backups where its data directory is), the
// libraries they link, a shell for the entrypoint script and archive_command, and,
// when hadron is not empty, that hadron binary as /usr/local/bin/hadron
// (HadronInImage): a member's pod runs `hadron data member-start` to ready its data
// directory. No registry, no second download.
func PostgresSpec(ctx context.Context, hadron string) (ImageSpec, error) {
	out, err := exec.CommandContext(ctx, "dpkg", "-L", "postgresql-15", "postgresql-client-15").Output()
	if err != nil {
		return ImageSpec{}, fmt.Errorf("postgres image: dpkg -L postgresql-15 postgresql-client-15: %w", err)
	}
	var files []File
	for _, p := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(p, "/usr/lib/postgresql/15/") && !strings.HasPrefix(p, "/usr/share/postgresql/15/") {
			continue
		}
		if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
			files = append(files, File{Host: p, Image: p})
		}
	}
	if len(files) == 0 {
		return ImageSpec{}, fmt.Errorf("postgres image: postgresql-15 has no files under /usr/lib/postgresql/15")
	}
	for _, p := range []string{"/bin/sh", "/usr/bin/pgbackrest", "/usr/share/zoneinfo/UTC", "/usr/share/zoneinfo/Etc/UTC"} {
		files = append(files, File{Host: p, Image: p})
	}
	if hadron != "" {
		files = append(files, File{Host: hadron, Image: HadronInImage})
	}
	uid := fmt.Sprint(PostgresUID)
	return ImageSpec{
		Ref:   PostgresImage,
		Files: files,
		Generated: []Generated{
			{Path: "/etc/passwd", Body: []byte("root:x:0:0:root:/root:/bin/sh\npostgres:x:" + uid + ":" + uid + ":PostgreSQL:/var/lib/postgresql:/bin/sh\n"), Mode: 0o644},
			{Path: "/etc/group", Body: []byte("root:x:0:\npostgres:x:" + uid + ":\n"), Mode: 0o644},
			{Path: "/usr/local/bin/pg-entrypoint", Body: []byte(pgEntrypoint), Mode: 0o755},
		},
		Entrypoint: []string{"/bin/sh", "/usr/local/bin/pg-entrypoint"},
		Env:        []string{"PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin", "LANG=C", "TZ=UTC", "PGDATA=/var/lib/postgresql/data/pgdata"},
		User:       uid,
	}, nil
}

// pgEntrypoint initialises the data directory on the volume the first time (password
// from a mounted file, password authentication from any address) and runs the server in
// the foreground, its socket in /tmp (the image has no /var/run/postgresql).
const pgEntrypoint = `set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 --pwfile="${PG_PASSWORD_FILE:-/etc/hadron-lab/password}" --encoding=UTF8 --locale=C
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp
`

// ImageDigest is the digest of the image ref in the docker-archive tarball at path
// (the digest of its manifest, as a registry would report it).
func ImageDigest(path, ref string) (string, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", ref, err)
	}
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		return "", fmt.Errorf("image %s in %s: %w", ref, path, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("image %s in %s: digest: %w", ref, path, err)
	}
	return d.String(), nil
}
