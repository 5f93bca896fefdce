package controlplane

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// component is one control-plane role running as a child process of the site.
type component struct {
	role string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startComponent runs `<binary> <role> <args>` with its output in logPath. The child gets
// SIGKILL if the site process dies, so a crashed site leaves no component behind.
func startComponent(binary, role string, args []string, logPath string) (*component, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", role, err)
	}
	cmd := exec.Command(binary, append([]string{role}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", role, err)
	}
	c := &component{role: role, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	return c, nil
}

// stop sends SIGTERM, then SIGKILL after grace, and waits for the exit.
func (c *component) stop(grace time.Duration) {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return
	case <-time.After(grace):
	}
	_ = c.cmd.Process.Kill()
	<-c.done
}

// exited reports the first component to exit.
func exited(ctx context.Context, comps []*component) (*component, bool) {
	cases := make(chan *component, len(comps))
	for _, c := range comps {
		go func() {
			select {
			case <-c.done:
				cases <- c
			case <-ctx.Done():
			}
		}()
	}
	select {
	case c := <-cases:
		return c, true
	case <-ctx.Done():
		return nil, false
	}
}
