package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/compute"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/probe"
	"hadron.dev/hadron/internal/runbook"
)

// runbooks starts, executes, resumes, aborts and previews the runs of this daemon: a
// person's through the API (only while leading, with the leadership's token), the
// automatic failover's, and the open runs a new leader takes over. It owns the
// leadership term it acts under and the runs it executes now.
type runbooks struct {
	fleet  *fleet.Fleet
	client *clientv3.Client
	store  *coordstate.Store
	obs    *observed
	data   *dataView
	repl   *replication
	sites  *compute.Sites // the runs' Kubernetes side
	checks *checks
	// providers are the DNS providers the dns step writes and verify asks.
	providers *dnsProviders
	// observeRun records a run this daemon executed, once it stopped (metrics).
	observeRun func(*runbook.Record)
	log        *slog.Logger

	mu      sync.Mutex
	tok     coord.Token
	lctx    context.Context // ends with the leadership; runs execute under it
	running map[string]bool // runs executing: app/run@token

	// resumed, when set, is called instead of execute for a run a new leader takes
	// over (tests).
	resumed func(ctx context.Context, tok coord.Token, rec *runbook.Record)
}

// lead makes tok the term runs start under until ctx (the leadership) ends, and first
// continues every open run.
func (r *runbooks) lead(ctx context.Context, tok coord.Token) {
	r.mu.Lock()
	r.tok, r.lctx = tok, ctx
	r.mu.Unlock()
	r.resumeOpen(ctx, tok)
	go func() {
		<-ctx.Done()
		r.mu.Lock()
		if r.tok == tok {
			r.tok, r.lctx = coord.Token{}, nil
		}
		r.mu.Unlock()
	}()
}

// token is the leadership's token; zero when this daemon does not lead.
func (r *runbooks) token() coord.Token {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tok
}

// runbookHandlers are the API's runbook routes backed by this daemon.
func (r *runbooks) handlers() *api.RunbookHandlers {
	return &api.RunbookHandlers{
		Start: r.start,
		Get: func(ctx context.Context, app, id string) (*runbook.Record, error) {
			return runbook.Get(ctx, r.client, app, id)
		},
		History: func(ctx context.Context, app string) ([]runbook.Record, error) {
			return runbook.History(ctx, r.client, app)
		},
		Resume: r.resume, Abort: r.abort, // resume.go
		Preview: r.preview, // preview.go
		Record: func(ctx context.Context, rec runbook.Record) ([]runbook.Record, error) {
			return runbook.RecordOutside(ctx, r.client, r.fleet, rec)
		},
	}
}

// startRun decides on a person's request: only the leader starts runs, with its
// token; a failover needs the quorum to find the active site down unless forced. The
// run is recorded before anything acts, then executed in the background.
func (r *runbooks) start(ctx context.Context, req api.RunRequest) (*runbook.Record, error) {
	tok, lctx, err := r.leading(ctx)
	if err != nil {
		return nil, err
	}
	from, health, err := r.runFrom(ctx, &req)
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
	rec, err := runbook.Launch(ctx, r.client, tok, req.Kind, req.App, from, req.To, who, req.Force, time.Now())
	if err != nil {
		return nil, err
	}
	if req.Kind == runbook.Failover {
		if first := r.obs.firstFailure(req.App, from); !first.IsZero() {
			rec.FirstFailedProbe = &first
		}
	}
	answer := runbook.Clone(rec) // the engine goes on changing rec
	go r.execute(lctx, tok, rec)
	return answer, nil
}

// runFrom checks a person's request (a failback without a site goes home) and says
// where the run would move the application from, with the quorum's verdicts.
func (r *runbooks) runFrom(ctx context.Context, req *api.RunRequest) (string, map[string]probe.Verdict, error) {
	app := r.fleet.Application(req.App)
	if app == nil {
		return "", nil, fmt.Errorf("%w: no application %q", api.ErrRefused, req.App)
	}
	if req.Kind == runbook.Failback && req.To == "" {
		req.To = app.Spec.Policy.ActiveSite // home
	}
	if r.fleet.Site(req.To) == nil {
		return "", nil, fmt.Errorf("%w: no site %q", api.ErrRefused, req.To)
	}
	st, _ := r.store.Current(ctx)
	from := st.Apps[req.App].Active
	if from == "" {
		from = app.Spec.Policy.ActiveSite
	}
	if from == req.To {
		return "", nil, fmt.Errorf("%w: %s is already active at %s", api.ErrRefused, req.App, req.To)
	}
	return from, st.Apps[req.App].Health, nil
}

// resumeOpen continues the open runs a new leader takes over (runbook.TakenOver):
// those whose leader died while they ran, and those stopped for a daemon that can act
// on their mirror set. A run that failed otherwise stays failed for a person.
//
// A read that fails (etcd slow or without a majority: often why the leadership moved)
// is tried again, runRetry apart, for as long as the leadership lasts: a run left
// unread would stay open, half done, until the next change of leader.
func (r *runbooks) resumeOpen(ctx context.Context, tok coord.Token) {
	read := map[string]bool{} // apps whose open run this term has handled
	for {
		err := r.resumeUnread(ctx, tok, read)
		if err == nil || ctx.Err() != nil {
			return
		}
		r.log.Warn("open runbooks not read; trying again", "err", err, "in", runRetry)
		sleep(ctx, runRetry)
	}
}

// resumeUnread reads every open run not in read yet, resumes those a new leader takes
// over and marks them read; it returns the first read that failed.
func (r *runbooks) resumeUnread(ctx context.Context, tok coord.Token, read map[string]bool) error {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	apps, err := runbook.OpenApps(rctx, r.client)
	if err != nil {
		return err
	}
	var failed error
	for _, app := range apps {
		if read[app] {
			continue
		}
		rec, err := runbook.Open(rctx, r.client, app)
		if errors.Is(err, runbook.ErrBadRecord) {
			read[app] = true
			r.log.Error("open runbook cannot be resumed", "app", app, "err", err)
			continue
		}
		if err != nil {
			failed = cmp.Or(failed, err)
			continue
		}
		read[app] = true
		switch {
		case rec == nil:
			// Closed since OpenApps listed it.
		case !runbook.TakenOver(rec):
			r.log.Info("failed runbook waits for a person's resume or abort", "app", app, "run", rec.ID, "kind", rec.Kind, "err", rec.Error)
		default:
			r.log.Info("resuming runbook", "app", app, "run", rec.ID, "kind", rec.Kind)
			run := r.execute
			if r.resumed != nil {
				run = r.resumed
			}
			go run(ctx, tok, rec)
		}
	}
	return failed
}

// execute runs rec to its end under tok, once per leadership: a run started through
// the API while the new leader resumes open runs is not run twice.
func (r *runbooks) execute(ctx context.Context, tok coord.Token, rec *runbook.Record) {
	key := runKey(rec.App, rec.ID, tok)
	r.mu.Lock()
	if r.running == nil {
		r.running = map[string]bool{}
	}
	if r.running[key] {
		r.mu.Unlock()
		return
	}
	r.running[key] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, key)
		r.mu.Unlock()
	}()
	// Replication towards the target would undo the activation (it writes the
	// stand-by style); it starts again from the new active site after the run.
	stopped := r.repl.pause(rec.App)
	defer r.repl.resume(rec.App)
	r.data.actions.Lock() // the in-region monitor, paused now, ends a step in flight
	r.data.actions.Unlock()
	env := r.env(rec.App, stopped)
	eng := &runbook.Engine{Client: r.client, Steps: env.Steps(), Log: r.log}
	err := eng.Run(ctx, tok, rec)
	for stalled(ctx, err, rec) {
		// The run did not fail: its record could not be saved (etcd slow or without a
		// majority for a moment). Left alone it would wait for the next leader; this
		// one continues it from what etcd holds once it can read it.
		r.log.Warn("runbook interrupted; continuing from the stored record", "app", rec.App, "run", rec.ID, "err", err)
		sleep(ctx, runRetry)
		gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		stored, gerr := runbook.Get(gctx, r.client, rec.App, rec.ID)
		cancel()
		if gerr != nil {
			continue
		}
		if stored.Status != runbook.StatusRunning {
			rec, err = stored, nil // closed or failed meanwhile: nothing to continue
			break
		}
		rec = stored
		err = eng.Run(ctx, tok, rec)
	}
	if err != nil {
		r.log.Error("runbook stopped", "app", rec.App, "run", rec.ID, "err", err)
	}
	if !coord.IsFenced(err) && ctx.Err() == nil && r.observeRun != nil {
		r.observeRun(rec)
	}
}

// runRetry is how soon a run interrupted by etcd is continued.
const runRetry = time.Second

// stalled says whether a run stopped without failing while this leadership lasts: a
// save refused by a slow etcd, not a step that gave up (StatusFailed) or a token gone
// stale.
func stalled(ctx context.Context, err error, rec *runbook.Record) bool {
	return err != nil && ctx.Err() == nil && !coord.IsFenced(err) && rec.Status == runbook.StatusRunning
}

// env is what the steps of app's runs act on at this daemon; stopped waits
// until replication of app has paused (Sites.Activate and StandBy call it first).
func (r *runbooks) env(app string, stopped func()) *runbook.Env {
	env := &runbook.Env{Client: r.client, Log: r.log, Check: r.checks.site(app), MainName: r.checks.mainName(app)}
	if r.providers != nil && r.providers.carries(app) {
		env.Providers = r.providers
	}
	a := r.fleet.Application(app)
	if a != nil && kubeSites(r.fleet, a) {
		env.Sites = afterPause{sites: r.sites, stopped: stopped}
		env.Drain = time.Duration(gslb.DefaultTTL) * time.Second
		if a.Spec.DNS != nil && a.Spec.DNS.TTL != nil {
			env.Drain = time.Duration(*a.Spec.DNS.TTL) * time.Second
		}
	}
	if a != nil && a.Spec.Data != nil {
		set := a.Spec.Data.MirrorSet
		env.Data = r.data.driver(set)
		// Without the driver every data step fails, permanently: a leader that can
		// act on the set resumes the run.
		env.NoDriver = r.data.noDriverFor(a)
		env.LastKnownFlush = func() data.LSN { return r.data.newestFlush(set) }
		env.LastPromise = func() *data.Promise { return r.data.promiseSeen(set) }
		env.LossMode = r.fleet.DataLoss(set).EffectiveMode()
		env.LastArchive = func() *data.ArchiveSeen { return r.data.archiveSeen(set) }
		for _, ms := range r.fleet.MirrorSets {
			if ms.Name == set && ms.Spec.Replication != nil {
				env.MaxAutoLoss = ms.Spec.Replication.MaxLagOnFailover
			}
			if ms.Name == set && ms.Spec.Backup != nil {
				env.RestoreWhenNoMember = ms.Spec.Backup.RestoreWhenNoMember
			}
		}
	}
	return env
}

// openRun is app's open runbook for status; nil when none (or unreadable).
func (r *runbooks) openRun(ctx context.Context, app string) *api.OpenRun {
	rec, err := runbook.Open(ctx, r.client, app)
	if err != nil || rec == nil {
		return nil
	}
	i, more := runbook.Next(rec)
	out := &api.OpenRun{ID: rec.ID, Kind: string(rec.Kind), From: rec.From, To: rec.To, Who: rec.Who,
		Status: string(rec.Status), Step: i + 1, Steps: len(rec.Steps), Error: rec.Error}
	if more {
		out.StepName = rec.Steps[i].Name
	} else {
		// Every step ended; the run is being closed into the ledger.
		out.Step, out.StepName = len(rec.Steps), "closing"
	}
	return out
}
