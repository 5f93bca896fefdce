package daemon

import (
	"context"
	"fmt"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/probe"
	"hadron.dev/hadron/internal/runbook"
)

// runbookHandlers are the API's runbook routes backed by this daemon.
func (d *Daemon) runbookHandlers() *api.RunbookHandlers {
	return &api.RunbookHandlers{
		Start: d.startRun,
		Get: func(ctx context.Context, app, id string) (*runbook.Record, error) {
			return runbook.Get(ctx, d.client, app, id)
		},
		History: func(ctx context.Context, app string) ([]runbook.Record, error) {
			return runbook.History(ctx, d.client, app)
		},
		Resume: d.resumeRun, Abort: d.abortRun, // resume.go
		Preview: d.previewRun, // preview.go
		Record: func(ctx context.Context, r runbook.Record) ([]runbook.Record, error) {
			return runbook.RecordOutside(ctx, d.client, d.opts.Fleet, r)
		},
	}
}

// startRun decides on a person's request: only the leader starts runs, with its
// token; a failover needs the quorum to find the active site down unless forced. The
// run is recorded before anything acts, then executed in the background.
func (d *Daemon) startRun(ctx context.Context, req api.RunRequest) (*runbook.Record, error) {
	d.mu.Lock()
	tok, lctx := d.leader, d.leadCtx
	d.mu.Unlock()
	if tok.IsZero() || lctx == nil {
		leader, _ := coord.Leader(ctx, d.client)
		return nil, fmt.Errorf("%w: ask %s", api.ErrNotLeader, leader.Holder)
	}
	from, health, err := d.runFrom(ctx, &req)
	if err != nil {
		return nil, err
	}
	if req.Kind == runbook.Failover && !req.Force {
		if v := health[from]; v != probe.Down {
			return nil, fmt.Errorf("%w: the quorum finds %s %s, not down (use --force, or a switchover)", api.ErrRefused, from, v)
		}
	}
	who := req.Who
	if who == "" {
		who = "operator"
	}
	rec, err := runbook.Launch(ctx, d.client, tok, req.Kind, req.App, from, req.To, who, req.Force, time.Now())
	if err != nil {
		return nil, err
	}
	if req.Kind == runbook.Failover {
		if first := d.firstFailure(req.App, from); !first.IsZero() {
			rec.FirstFailedProbe = &first
		}
	}
	answer := runbook.Clone(rec) // the engine goes on changing rec
	go d.execute(lctx, tok, rec)
	return answer, nil
}

// runFrom checks a person's request (a failback without a site goes home) and says
// where the run would move the application from, with the quorum's verdicts.
func (d *Daemon) runFrom(ctx context.Context, req *api.RunRequest) (string, map[string]probe.Verdict, error) {
	app := d.opts.Fleet.Application(req.App)
	if app == nil {
		return "", nil, fmt.Errorf("%w: no application %q", api.ErrRefused, req.App)
	}
	if req.Kind == runbook.Failback && req.To == "" {
		req.To = app.Spec.Policy.ActiveSite // home
	}
	if d.opts.Fleet.Site(req.To) == nil {
		return "", nil, fmt.Errorf("%w: no site %q", api.ErrRefused, req.To)
	}
	st, _ := d.store.Current(ctx)
	from := st.Apps[req.App].Active
	if from == "" {
		from = app.Spec.Policy.ActiveSite
	}
	if from == req.To {
		return "", nil, fmt.Errorf("%w: %s is already active at %s", api.ErrRefused, req.App, req.To)
	}
	return from, st.Apps[req.App].Health, nil
}

// resumeRuns continues every open run when this daemon becomes the leader.
func (d *Daemon) resumeRuns(ctx context.Context, tok coord.Token) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	apps, err := runbook.OpenApps(rctx, d.client)
	if err != nil {
		d.log.Warn("open runbooks not read", "err", err)
		return
	}
	for _, app := range apps {
		rec, err := runbook.Open(rctx, d.client, app)
		if err != nil || rec == nil {
			d.log.Warn("open runbook not read", "app", app, "err", err)
			continue
		}
		d.log.Info("resuming runbook", "app", app, "run", rec.ID, "kind", rec.Kind)
		go d.execute(ctx, tok, rec)
	}
}

// execute runs rec to its end under tok, once per leadership: a run started through
// the API while the new leader resumes open runs is not run twice.
func (d *Daemon) execute(ctx context.Context, tok coord.Token, rec *runbook.Record) {
	key := fmt.Sprintf("%s/%s@%d", rec.App, rec.ID, tok.Rev)
	d.mu.Lock()
	if d.running == nil {
		d.running = map[string]bool{}
	}
	if d.running[key] {
		d.mu.Unlock()
		return
	}
	d.running[key] = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.running, key)
		d.mu.Unlock()
	}()
	// Replication towards the target would undo the activation (it writes the
	// stand-by style); it starts again from the new active site after the run.
	stopped := d.pauseReplication(rec.App)
	defer d.resumeReplication(rec.App)
	d.runbookData.Lock() // the in-region monitor, paused now, ends a step in flight
	d.runbookData.Unlock()
	env := d.runbookEnv(rec.App, stopped)
	eng := &runbook.Engine{Client: d.client, Steps: env.Steps(), Log: d.log}
	err := eng.Run(ctx, tok, rec)
	if err != nil {
		d.log.Error("runbook stopped", "app", rec.App, "run", rec.ID, "err", err)
	}
	if !coord.IsFenced(err) && ctx.Err() == nil {
		d.metrics.observeRun(rec)
	}
}

// runbookEnv is what the steps of app's runs act on at this daemon; stopped waits
// until replication of app has paused (Sites.Activate and StandBy call it first).
func (d *Daemon) runbookEnv(app string, stopped func()) *runbook.Env {
	env := &runbook.Env{Client: d.client, Log: d.log, Check: d.checkSite(app), MainName: d.checkMainName(app)}
	a := d.opts.Fleet.Application(app)
	if a != nil && d.kubeSites(a) {
		env.Sites = afterPause{sites: d.sites, stopped: stopped}
		env.Drain = time.Duration(gslb.DefaultTTL) * time.Second
		if a.Spec.DNS != nil && a.Spec.DNS.TTL != nil {
			env.Drain = time.Duration(*a.Spec.DNS.TTL) * time.Second
		}
	}
	if a != nil && a.Spec.Data != nil {
		set := a.Spec.Data.MirrorSet
		env.Data = d.drivers[set]
		// Without the driver every data step fails, permanently: a leader that can
		// act on the set resumes the run.
		env.NoDriver = d.noDriverFor(a)
		env.LastKnownFlush = func() data.LSN {
			d.mu.Lock()
			defer d.mu.Unlock()
			return d.lastFlush[set]
		}
		for _, ms := range d.opts.Fleet.MirrorSets {
			if ms.Name == set && ms.Spec.Replication != nil {
				env.MaxAutoLoss = ms.Spec.Replication.MaxLagOnFailover
			}
		}
	}
	return env
}

// openRun is app's open runbook for status; nil when none (or unreadable).
func (d *Daemon) openRun(ctx context.Context, app string) *api.OpenRun {
	r, err := runbook.Open(ctx, d.client, app)
	if err != nil || r == nil {
		return nil
	}
	i, more := runbook.Next(r)
	out := &api.OpenRun{ID: r.ID, Kind: string(r.Kind), From: r.From, To: r.To, Who: r.Who,
		Status: string(r.Status), Step: i + 1, Steps: len(r.Steps), Error: r.Error}
	if more {
		out.StepName = r.Steps[i].Name
	} else {
		// Every step ended; the run is being closed into the ledger.
		out.Step, out.StepName = len(r.Steps), "closing"
	}
	return out
}
