package pki

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/coord"
)

const fleetText = `apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: east}
spec:
  region: r1
  daemon:
    api: {address: "127.0.9.41:7443"}
`

func runRotate(t *testing.T, args ...string) (Rotation, error) {
	t.Helper()
	cmd := Command()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append([]string{"rotate"}, args...))
	if err := cmd.Execute(); err != nil {
		return Rotation{}, err
	}
	var doc Rotation
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return doc, nil
}

func TestRotate(t *testing.T) {
	dir := t.TempDir()
	fleetFile := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(fleetFile, []byte(fleetText), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := cli.LoadFleet(fleetFile)
	if err != nil {
		t.Fatal(err)
	}
	ca := coord.PKI{Dir: filepath.Join(dir, "pki")}
	if err := ca.Init(f); err != nil {
		t.Fatal(err)
	}
	var usage *cli.UsageError
	if _, err := runRotate(t, "-f", fleetFile); !errors.As(err, &usage) {
		t.Errorf("rotate without --ca-dir: %v, want a usage error", err)
	}
	// One-year certificates are not due within 30 days.
	doc, err := runRotate(t, "-f", fleetFile, "--ca-dir", ca.Dir, "--within", "720h", "-o", "json")
	if err != nil || len(doc.Certs) != 2 || doc.Certs[0].Rotated || doc.Certs[1].Rotated {
		t.Fatalf("rotate --within 720h: %+v, %v", doc, err)
	}
	before := doc.Certs[0].Serial
	doc, err = runRotate(t, "-f", fleetFile, "--ca-dir", ca.Dir, "--site", "east", "--validity", "48h", "-o", "json")
	if err != nil || len(doc.Certs) != 1 || !doc.Certs[0].Rotated || doc.Certs[0].Name != "east" || doc.Certs[0].Serial == before {
		t.Fatalf("rotate --site east: %+v, %v", doc, err)
	}
	if _, err := runRotate(t, "-f", fleetFile, "--ca-dir", ca.SiteBundle("east").Dir); err == nil {
		t.Error("rotate in a site's bundle (no CA key) succeeded")
	}
}
