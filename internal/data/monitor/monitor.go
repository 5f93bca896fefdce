package monitor

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"hadron.dev/hadron/internal/data"
)

// Syncer is the optional driver capability behind the Resync action.
type Syncer interface {
	UpdateSync(ctx context.Context) error
}

// Monitor observes one mirror set and acts on Decide's actions.
type Monitor struct {
	Driver data.Driver
	Config Config
	// Interval between observations (default 1s).
	Interval time.Duration
	// ActionTimeout bounds one action (default DefaultActionTimeout: a rejoin may
	// clone), in Run and in Step alike.
	ActionTimeout time.Duration
	Logger        *slog.Logger
	// OnAction, when set, is called after each action with its error (tests, metrics).
	OnAction func(Action, error)
	// Hold, when set, is asked before a step's actions: ok false skips them (another
	// decider owns the set now); release is called once they are done.
	Hold func() (release func(), ok bool)
	// Initial is the memory the first step starts from (zero: none). A daemon that
	// becomes leader while the primary is down never saw it, and without a remembered
	// primary and synchronous member Decide never promotes: the daemon seeds it from
	// its own last observation of a primary.
	Initial Memory

	started bool
	mem     Memory
	seen    atomic.Pointer[Memory] // a copy of mem for Remembered
}

// Remembered is what the monitor knew after its last observation: the primary and its
// synchronous member (the one it would promote).
func (m *Monitor) Remembered() Memory {
	if p := m.seen.Load(); p != nil {
		return *p
	}
	return Memory{}
}

// DefaultActionTimeout bounds one action of a monitor without its own ActionTimeout.
const DefaultActionTimeout = 2 * time.Minute

// actionTimeout is the bound of one action: ActionTimeout, else the default. A zero
// bound would hand every action a context that has already ended.
func (m *Monitor) actionTimeout() time.Duration {
	if m.ActionTimeout > 0 {
		return m.ActionTimeout
	}
	return DefaultActionTimeout
}

// Run observes and acts until ctx ends; it returns ctx's error.
func (m *Monitor) Run(ctx context.Context) error {
	if m.Interval == 0 {
		m.Interval = time.Second
	}
	log := m.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	for {
		m.Step(ctx, log)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Step makes one observation and carries out the actions it calls for.
func (m *Monitor) Step(ctx context.Context, log *slog.Logger) {
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	st, err := m.Driver.Status(octx)
	cancel()
	if err != nil {
		log.Warn("status", "err", err)
		return
	}
	if !m.started {
		m.mem, m.started = m.Initial, true
	}
	var acts []Action
	prev := m.mem
	m.mem, acts = Decide(m.mem, st, m.Config)
	seen := m.mem
	m.seen.Store(&seen)
	if prev.Primary != m.mem.Primary && m.mem.Primary != "" {
		log.Info("primary", "member", m.mem.Primary, "timeline", m.mem.Timeline, "sync", m.mem.Sync)
	}
	if m.mem.Down > 0 && m.mem.Down != prev.Down {
		log.Warn("no primary", "observations", m.mem.Down, "last", m.mem.Primary, "sync", m.mem.Sync)
	}
	if len(acts) > 0 && m.Hold != nil {
		release, ok := m.Hold()
		if !ok {
			log.Info("actions held back: another decider owns the set", "actions", len(acts))
			return
		}
		defer release()
	}
	for _, a := range acts {
		actx, cancel := context.WithTimeout(ctx, m.actionTimeout())
		err := m.do(actx, a)
		cancel()
		if err != nil {
			log.Error("action failed", "action", a.Kind, "member", a.Member, "reason", a.Reason, "err", err)
		} else {
			log.Info("action done", "action", a.Kind, "member", a.Member, "reason", a.Reason)
		}
		if m.OnAction != nil {
			m.OnAction(a, err)
		}
		if err != nil {
			return // observe again before the next step
		}
		if a.Kind == Promote {
			m.mem = Memory{Primary: a.Member, SystemID: a.Token.SystemID}
		}
	}
}

func (m *Monitor) do(ctx context.Context, a Action) error {
	switch a.Kind {
	case Promote:
		_, err := m.Driver.Promote(ctx, a.Member, a.Token)
		return err
	case Fence:
		return m.Driver.Fence(ctx, a.Member, m.Config.FencingToken)
	case Rejoin:
		return m.Driver.Rejoin(ctx, a.Member)
	case Resync:
		if s, ok := m.Driver.(Syncer); ok {
			return s.UpdateSync(ctx)
		}
	}
	return nil
}
