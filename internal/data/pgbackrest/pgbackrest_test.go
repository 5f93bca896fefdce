package pgbackrest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
)

// The inputs are pgBackRest 2.45's real output (a full, an incremental and a
// differential backup of an encrypted posix repository; a stanza without backups).
func TestParseInfo(t *testing.T) {
	for _, tc := range []struct {
		file, stanza string
		want         *StanzaInfo
		err          string
	}{{
		file: "info-full-incr-diff.json", stanza: "orders",
		want: &StanzaInfo{
			Name: "orders", Cipher: "aes-256-cbc", Status: Status{Code: 0, Message: "ok"},
			Archives: []ArchiveRange{{ID: "15-1", Min: "000000010000000000000001", Max: "000000010000000000000006"}},
			Backups: []Backup{
				{Label: "20261206-210540F", Type: Full, Start: time.Unix(1796591140, 0).UTC(), Stop: time.Unix(1796591141, 0).UTC(),
					WALStart: "000000010000000000000002", WALStop: "000000010000000000000002", Size: 22992581, RepoSize: 2828320},
				{Label: "20261206-210540F_20261206-210542I", Type: Incr, Prior: "20261206-210540F", Start: time.Unix(1796591142, 0).UTC(), Stop: time.Unix(1796591143, 0).UTC(),
					WALStart: "000000010000000000000004", WALStop: "000000010000000000000004", Size: 26621637, RepoSize: 458880},
				{Label: "20261206-210540F_20261206-210544D", Type: Diff, Prior: "20261206-210540F", Start: time.Unix(1796591144, 0).UTC(), Stop: time.Unix(1796591145, 0).UTC(),
					WALStart: "000000010000000000000005", WALStop: "000000010000000000000006", Size: 26621637, RepoSize: 458880},
			},
		},
	}, {
		file: "info-no-backups.json", stanza: "orders",
		want: &StanzaInfo{Name: "orders", Cipher: "aes-256-cbc", Status: Status{Code: 2, Message: "no valid backups"},
			Archives: []ArchiveRange{{ID: "15-1"}}},
	}, {
		file: "info-no-backups.json", stanza: "shop", err: `no stanza "shop"`,
	}} {
		t.Run(tc.file+"/"+tc.stanza, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseInfo(b, tc.stanza)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestParseInfoRefusesBadInput(t *testing.T) {
	for in, want := range map[string]string{
		`{`: "unexpected end",
		`[{"name":"orders","backup":[{"label":"x","type":"weekly"}]}]`: `backup[0].type: unknown "weekly"`,
		`[{"name":"orders","backup":[{"type":"full"}]}]`:               `backup[0].label: empty`,
	} {
		if _, err := ParseInfo([]byte(in), "orders"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one with %q", in, err, want)
		}
	}
}

func TestLatestSkipsFailedBackups(t *testing.T) {
	s := &StanzaInfo{Backups: []Backup{{Label: "a"}, {Label: "b"}, {Label: "c", Error: true}}}
	if b, ok := s.Latest(); !ok || b.Label != "b" {
		t.Fatalf("latest %+v %v, want b", b, ok)
	}
	if _, ok := (&StanzaInfo{}).Latest(); ok {
		t.Fatal("an empty repository has a latest backup")
	}
}

func TestArchiveLag(t *testing.T) {
	const seg = SegmentSize
	for _, tc := range []struct {
		current string
		ready   []string
		lag     int64
	}{
		{"0/7000000", nil, 0},                                    // at a segment boundary, all archived
		{"0/7000100", nil, 0x100},                                // 256 bytes into segment 7, not switched yet
		{"0/7000100", []string{"00000002.history.ready"}, 0x100}, // a history file names no position
		{"0/9000028", []string{"000000010000000000000007.ready", "000000010000000000000008.ready"}, 2*seg + 0x28},
		{"0/9000028", []string{"000000010000000000000008.ready", "000000010000000000000007.ready"}, 2*seg + 0x28}, // any order
		{"1/0000028", []string{"0000000100000000000000FF.ready"}, seg + 0x28},                                     // across a log boundary
		{"2/5000000", []string{"000000010000000100000004.ready"}, 1<<32 + seg},                                    // log 1 segment 4 starts at 1/4000000
		{"0/7000000", []string{"000000020000000000000009.ready"}, 0},                                              // ahead of current: nothing missing
		{"0/7000100", []string{"000000010000000000000002.00000028.backup.ready", "00000001000000000000000G.ready"}, 0x100},
	} {
		cur, err := data.ParseLSN(tc.current)
		if err != nil {
			t.Fatal(err)
		}
		if lag := ArchiveLag(cur, tc.ready, seg); lag != tc.lag {
			t.Errorf("ArchiveLag(%s, %v) = %d; want %d", tc.current, tc.ready, lag, tc.lag)
		}
	}
}

func TestValidateNamesTheField(t *testing.T) {
	s3 := func(mut func(*S3)) *S3 {
		s := &S3{Endpoint: "s3.example", Bucket: "b", Region: "r", Key: "k", KeySecret: "s"}
		mut(s)
		return s
	}
	const f = "spec.backup.repository"
	for _, tc := range []struct {
		repo Repo
		want string
	}{
		{Repo{CipherPass: "x"}, f + ": one of path and s3 is required"},
		{Repo{Path: "/r", S3: s3(func(*S3) {}), CipherPass: "x"}, f + ": path and s3 exclude each other"},
		{Repo{Path: "repo", CipherPass: "x"}, f + `.path: "repo" is not absolute`},
		{Repo{Path: "/r"}, f + ".cipherPassFrom: required"},
		{Repo{Path: "/r", CipherPass: "x", RetentionFull: -1}, f + ".retention.full: -1 is negative"},
		{Repo{S3: s3(func(s *S3) { s.Bucket = "" }), CipherPass: "x"}, f + ".s3.bucket: required"},
		{Repo{S3: s3(func(s *S3) { s.KeySecret = "" }), CipherPass: "x"}, f + ".s3.keySecretFrom: required"},
		{Repo{S3: s3(func(s *S3) { s.Port = 70000 }), CipherPass: "x"}, f + ".s3.port: 70000 is out of range"},
		{Repo{Path: "/r", Unencrypted: true}, ""},
		{Repo{S3: s3(func(*S3) {}), CipherPass: "x"}, ""},
	} {
		err := tc.repo.Validate(f)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
			t.Errorf("%+v: error %v, want %q", tc.repo, err, tc.want)
		}
	}
}

func TestRenderKeepsSecretsInTheFileAndPathsInTheCommand(t *testing.T) {
	st := Stanza{Name: "orders", DataDir: "/d/east 0", Port: 5432, User: "hadron", Home: "/d/east 0.pgbackrest"}
	conf := Render(Repo{S3: &S3{Endpoint: "localhost", Port: 9000, Bucket: "b", Region: "r", Key: "AK", KeySecret: "SK", CA: []byte("PEM"), PathStyle: true},
		CipherPass: "CP", RetentionFull: 3}, st)
	for _, line := range []string{
		"repo1-cipher-type=aes-256-cbc", "repo1-cipher-pass=CP", "repo1-s3-key=AK", "repo1-s3-key-secret=SK",
		"repo1-retention-full=3", "repo1-retention-full-type=count", "repo1-storage-port=9000", "repo1-s3-uri-style=path",
		"repo1-storage-ca-file=/d/east 0.pgbackrest/s3-ca.crt", "[orders]", "pg1-path=/d/east 0", "pg1-port=5432",
	} {
		if !strings.Contains(conf, "\n"+line+"\n") {
			t.Errorf("config lacks %q:\n%s", line, conf)
		}
	}
	set := ServerSettings(st, 30)
	want := map[string]string{
		"archive_mode":    "on",
		"archive_command": `pgbackrest --config='/d/east 0.pgbackrest/pgbackrest.conf' --stanza='orders' archive-push %p`,
		"archive_timeout": "30",
	}
	if !reflect.DeepEqual(set, want) {
		t.Fatalf("settings %v, want %v", set, want)
	}
}

func TestParseHistory(t *testing.T) {
	got, err := ParseHistory("1\t0/7000A28\tno recovery target specified\n\n# a comment\n2\t1/2000000\tat restore point\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []Switch{{Parent: 1, At: 0x7000A28}, {Parent: 2, At: 0x102000000}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for in, msg := range map[string]string{
		"1\n":            "line 1",
		"x\t0/1\treason": `timeline "x"`,
		"1\tnowhere\tr":  "nowhere",
	} {
		if _, err := ParseHistory(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: error %v, want one with %q", in, err, msg)
		}
	}
}

func TestCatchUpSegments(t *testing.T) {
	files := []string{
		"000000010000000000000005", "000000010000000000000003", "000000010000000000000004",
		"000000010000000000000006",         // holds the switch (0/6000A28): archived as .partial by the server
		"000000010000000000000007",         // a recycled file on the old timeline: old bytes
		"000000010000000000000006.partial", // not a segment
		"000000020000000000000006",         // the new timeline: the server archives it
		"00000002.history", "archive_status",
	}
	got := CatchUpSegments(files, Switch{Parent: 1, At: 0x6000A28}, SegmentSize)
	want := []string{"000000010000000000000003", "000000010000000000000004", "000000010000000000000005"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// A switch exactly at a segment boundary: the segment before it is whole.
	if got := CatchUpSegments(files, Switch{Parent: 1, At: 0x6000000}, SegmentSize); len(got) != 3 || got[2] != "000000010000000000000005" {
		t.Fatalf("switch at 0/6000000: %v", got)
	}
}

// A member reaches the store the way its region does: its region's address replaces
// the endpoint and port in its configuration; other regions and directory repositories
// are unchanged, and the shared Repo is not modified.
func TestRepoForRegion(t *testing.T) {
	s3 := &S3{Endpoint: "127.0.3.60", Port: 9443, Bucket: "b", Region: "r",
		FromRegions: map[string]string{"us-east-1": "127.1.3.60:9443", "bad": "127.1.3.60"}}
	r := Repo{S3: s3, CipherPass: "x"}
	for _, tc := range []struct {
		region, host string
		port         int
		err          bool
	}{
		{"us-east-1", "127.1.3.60", 9443, false},
		{"eu-central-1", "127.0.3.60", 9443, false},
		{"", "127.0.3.60", 9443, false},
		{"bad", "", 0, true},
	} {
		got, err := r.For(tc.region)
		if tc.err {
			if err == nil {
				t.Errorf("%s: no error for a bad address", tc.region)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.region, err)
		}
		if got.S3.Endpoint != tc.host || got.S3.Port != tc.port {
			t.Errorf("%s: %s:%d, want %s:%d", tc.region, got.S3.Endpoint, got.S3.Port, tc.host, tc.port)
		}
		if !strings.Contains(Render(got, Stanza{Name: "s", Home: "/h"}), "repo1-s3-endpoint="+tc.host+"\n") {
			t.Errorf("%s: the configuration does not name %s", tc.region, tc.host)
		}
	}
	if s3.Endpoint != "127.0.3.60" || s3.Port != 9443 {
		t.Errorf("For changed the shared repository: %s:%d", s3.Endpoint, s3.Port)
	}
	if d, err := (Repo{Path: "/srv/b"}).For("us-east-1"); err != nil || d.Path != "/srv/b" {
		t.Errorf("directory repository: %+v %v", d, err)
	}
}

// TestRenderWithoutDataDirReadsTheRepositoryOnly: a configuration for reading the
// repository from a machine without the member's files names no pg1-path (an empty
// one would be taken for the root directory's).
func TestRenderWithoutDataDirReadsTheRepositoryOnly(t *testing.T) {
	conf := Render(Repo{Path: "/repo", CipherPass: "CP"}, Stanza{Name: "orders", Home: "/tmp/h"})
	if strings.Contains(conf, "pg1-") || !strings.Contains(conf, "\n[orders]\n") || !strings.Contains(conf, "\nrepo1-path=/repo\n") {
		t.Fatalf("config:\n%s", conf)
	}
}
