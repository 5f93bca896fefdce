package world

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/lab/internal/links"
	"hadron.dev/hadron/lab/internal/topology"
)

// hadronBinary is $HADRON_BINARY, else the CLI built from the checkout.
func hadronBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("HADRON_BINARY"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "hadron")
	build := exec.Command("go", "build", "-o", bin, "./cmd/hadron")
	build.Dir = filepath.Join("..", "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build hadron: %v\n%s", err, out)
	}
	return bin
}

// TestDaemonsFormOneClusterOverLinks runs the three lab daemons as processes on
// regions 225–227 (clear of a running lab) with the lab's real links, and cuts east off.
func TestDaemonsFormOneClusterOverLinks(t *testing.T) {
	bin := hadronBinary(t)
	cfg := topology.Default()
	cfg.FirstRegion = 225
	no := false
	cfg.Demo = &no
	dir := Dir(t.TempDir())
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l, err := links.Start(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b, err := cfg.FleetYAML(topology.Paths{Kubeconfig: dir.Kubeconfig(), PasswordFile: dir.PasswordFile(), PostgresDir: dir.Postgres()})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir.Fleet(), b, 0o644); err != nil {
		t.Fatal(err)
	}
	d := NewDaemons(cfg, dir, bin, log)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	defer d.Stop(context.Background())
	if err := d.Start(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	status := func(site string) (out string, quorum bool, leader string) {
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		defer scancel()
		raw, err := exec.CommandContext(sctx, bin, "status", "-f", dir.Fleet(), "--pki", d.PKIDir(), "--daemon", site, "-o", "json").Output()
		if err != nil {
			return "", false, ""
		}
		var st struct {
			Leader string
			Etcd   struct{ Quorum bool }
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatalf("status json: %v\n%s", err, raw)
		}
		text, _ := exec.CommandContext(sctx, bin, "status", "-f", dir.Fleet(), "--pki", d.PKIDir(), "--daemon", site).Output()
		return string(text), st.Etcd.Quorum, st.Leader
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within a minute", what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	eventually("every daemon sees quorum and the same leader", func() bool {
		var leaders []string
		for _, s := range []string{"east", "west", "witness"} {
			_, q, leader := status(s)
			if !q || leader == "" {
				return false
			}
			leaders = append(leaders, leader)
		}
		return leaders[0] == leaders[1] && leaders[1] == leaders[2]
	})

	// east cut off from both other regions: its daemon keeps running without a majority.
	for _, other := range []string{"west", "witness"} {
		if err := l.Cut("east", other); err != nil {
			t.Fatal(err)
		}
	}
	eventually("east says decisions are frozen", func() bool {
		out, q, _ := status("east")
		return !q && strings.Contains(out, "no quorum: decisions frozen")
	})
	eventually("west keeps the majority with the witness", func() bool {
		_, q, leader := status("west")
		return q && leader != "" && leader != "east"
	})
	for _, other := range []string{"west", "witness"} {
		if err := l.Heal("east", other); err != nil {
			t.Fatal(err)
		}
	}
	eventually("east back in the majority", func() bool {
		_, q, _ := status("east")
		return q
	})
}
