// Package world runs a whole lab: the supervisor process that owns the links, the sites'
// control planes, the databases, the demo application and the ingresses, and the client
// that `hadron lab` uses to talk to it over a unix socket in the lab's directory.
package world

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// EnvDir overrides where the lab keeps its state.
const EnvDir = "HADRON_LAB_DIR"

// DefaultDir is $HADRON_LAB_DIR, else $XDG_STATE_HOME/hadron-lab, else
// ~/.local/state/hadron-lab.
func DefaultDir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "hadron-lab")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "hadron-lab")
	}
	return filepath.Join(home, ".local", "state", "hadron-lab")
}

// Dir is the layout of a lab's state directory.
type Dir string

func (d Dir) path(p ...string) string { return filepath.Join(append([]string{string(d)}, p...)...) }

func (d Dir) Config() string          { return d.path("lab.yaml") }
func (d Dir) Socket() string          { return d.path("lab.sock") }
func (d Dir) PIDFile() string         { return d.path("supervisor.pid") }
func (d Dir) Log() string             { return d.path("supervisor.log") }
func (d Dir) Kubeconfig() string      { return d.path("kubeconfig") }
func (d Dir) Fleet() string           { return d.path("fleet.yaml") }
func (d Dir) CA() string              { return d.path("ca") }
func (d Dir) Site(name string) string { return d.path("sites", name) }
func (d Dir) Postgres() string        { return d.path("pg") }
func (d Dir) PasswordFile() string    { return d.path("pg", "password") }
func (d Dir) PostgresCerts() string   { return d.path("pg-certs") }
func (d Dir) DemoPassfile() string    { return d.path("pg", "demo.pgpass") }
func (d Dir) Logs() string            { return d.path("logs") }
func (d Dir) ProcLog(name string) string {
	return d.path("logs", name+".log")
}

// SupervisorPID returns the pid of a live supervisor, or 0.
func (d Dir) SupervisorPID() int {
	b, err := os.ReadFile(d.PIDFile())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	if !alive(pid) {
		return 0
	}
	return pid
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (d Dir) writePID() error {
	if err := os.MkdirAll(string(d), 0o755); err != nil {
		return fmt.Errorf("lab dir: %w", err)
	}
	return os.WriteFile(d.PIDFile(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// WritePID records the supervisor's pid.
func WritePID(d Dir) error { return d.writePID() }
