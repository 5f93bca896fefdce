// Package dashboard is the web page every daemon serves at /ui: the fleet's regions and
// sites, what every observer sees of every site, where each application and its data
// are, the etcd quorum, an open run as a live timeline with Resume/Abort, and the
// ledger with RTO/RPO over time. The page's data is one JSON document (View) built by
// a pure function from the daemon's status and runs (Build, table-tested); the server
// pushes a new one over server-sent events when the shared state in etcd changes; the
// page's script only draws it. Authentication and roles are the API's (internal/api):
// this package serves routes that the API puts behind its role table. See
// docs/design/dashboard.md.
package dashboard

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/internal/timeline"
)

// Kind is the View document's kind.
const Kind = "DashboardView"

// LedgerRows is how many of the newest runs the ledger table shows; the chart uses all.
const LedgerRows = 50

// Topology is what the fleet says of where things are: it does not change while a
// daemon runs, so it is computed once (TopologyOf).
type Topology struct {
	Sites []SiteInfo
	// Bounds says each mirror set's promise of loss (its loss mode).
	Bounds map[string]string
	// SetApps names the applications of each mirror set.
	SetApps map[string][]string
}

// SiteInfo is one site of the fleet.
type SiteInfo struct {
	Name, Region string
	Zones        []string
	Witness      bool
}

// TopologyOf reads the sites and mirror sets of f.
func TopologyOf(f *fleet.Fleet) Topology {
	t := Topology{Bounds: map[string]string{}, SetApps: map[string][]string{}}
	for _, s := range f.Sites {
		t.Sites = append(t.Sites, SiteInfo{Name: s.Name, Region: s.Spec.Region, Zones: s.Spec.Zones,
			Witness: s.Spec.Role == v1alpha1.SiteRoleWitness})
	}
	for _, m := range f.MirrorSets {
		t.Bounds[m.Name] = LossBound(m.Spec.Replication)
	}
	for _, a := range f.Applications {
		if a.Spec.Data != nil {
			t.SetApps[a.Spec.Data.MirrorSet] = append(t.SetApps[a.Spec.Data.MirrorSet], a.Name)
		}
	}
	return t
}

// LossBound says in words what a mirror set promises to lose: nothing in the region
// when its failover member is synchronous (the default), and at most the automatic
// promotion's bound across regions.
func LossBound(r *v1alpha1.Replication) string {
	sync := r == nil || r.Synchronous == nil || *r.Synchronous
	s := "asynchronous in the region"
	if sync {
		s = "RPO 0 in the region (synchronous)"
	}
	if r != nil && r.MaxLagOnFailover != nil {
		return s + fmt.Sprintf("; an automatic promotion loses at most %d bytes", *r.MaxLagOnFailover)
	}
	return s + "; across regions asynchronous (the loss is measured and recorded)"
}

// Input is everything a view is built from.
type Input struct {
	Status   api.Status
	Topology Topology
	// Open are the open runs' records; History the ledger, oldest first.
	Open    []runbook.Record
	History []runbook.Record
	Caller  apitoken.Identity
	Now     time.Time
}

// View is the page's document.
type View struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Daemon     string      `json:"daemon"`
	Time       time.Time   `json:"time"`
	Caller     Caller      `json:"caller"`
	Etcd       EtcdView    `json:"etcd"`
	Regions    []Region    `json:"regions"`
	Apps       []AppView   `json:"apps"`
	MirrorSets []SetView   `json:"mirrorSets"`
	Runs       []RunView   `json:"runs"`
	Ledger     []LedgerRow `json:"ledger"`
	Charts     []Chart     `json:"charts"`
}

// Caller is who looks, and whether the page offers them Resume and Abort (the API
// decides anyway).
type Caller struct {
	Name       string   `json:"name"`
	Roles      []string `json:"roles"`
	CanOperate bool     `json:"canOperate"`
}

// EtcdView is the coordination cluster.
type EtcdView struct {
	Quorum     bool         `json:"quorum"`
	SelfFenced bool         `json:"selfFenced"`
	Leader     string       `json:"leader"`
	Token      int64        `json:"token"`
	Error      string       `json:"error,omitempty"`
	Members    []EtcdMember `json:"members"`
}

// EtcdMember is one etcd member; RaftLeader marks raft's leader (not hadron's).
type EtcdMember struct {
	Name       string `json:"name"`
	RaftLeader bool   `json:"raftLeader"`
}

// Region groups its sites.
type Region struct {
	Name  string `json:"name"`
	Sites []Site `json:"sites"`
}

// Site is one site's card on the map.
type Site struct {
	Name    string   `json:"name"`
	Zones   []string `json:"zones"`
	Witness bool     `json:"witness"`
	// Health is the worst verdict of the quorum over the applications it serves: up,
	// down, unknown, or "witness" for a site nobody probes.
	Health string `json:"health"`
	// Active are the applications active here.
	Active []string `json:"active"`
	// Leader is set on the site whose daemon leads; Answering on the one that drew the page.
	Leader    bool `json:"leader"`
	Answering bool `json:"answering"`
}

// AppView is one application.
type AppView struct {
	Name     string    `json:"name"`
	Active   string    `json:"active"`
	Standby  string    `json:"standby"`
	Strategy string    `json:"strategy"`
	DNSName  string    `json:"dnsName"`
	Answers  []string  `json:"answers"`
	Matrix   Matrix    `json:"matrix"`
	Findings []Finding `json:"findings"`
	// Readiness is the leader's latest check of the stand-bys (readiness.go).
	Readiness *ReadinessView `json:"readiness,omitempty"`
}

// Matrix is every observer's latest probe of every site, and the quorum's verdict.
type Matrix struct {
	Observers []string `json:"observers"`
	Sites     []string `json:"sites"`
	// Cells[i][j] is observer i's probe of site j.
	Cells    [][]Cell `json:"cells"`
	Verdicts []string `json:"verdicts"`
}

// Cell is one probe: State is ok, failed or none (never probed).
type Cell struct {
	State     string  `json:"state"`
	LatencyMS float64 `json:"latencyMs"`
	Error     string  `json:"error,omitempty"`
}

// Finding is something about an application a person should know; Level is ok, warn
// or bad.
type Finding struct {
	Level string `json:"level"`
	Text  string `json:"text"`
}

// SetView is one mirror set as the answering daemon last observed it.
type SetView struct {
	Name    string           `json:"name"`
	Apps    []string         `json:"apps"`
	Primary string           `json:"primary"`
	Bound   string           `json:"bound"`
	Error   string           `json:"error,omitempty"`
	Members []api.DataMember `json:"members"`
}

// RunView is an open run with its live timeline.
type RunView struct {
	App        string            `json:"app"`
	ID         string            `json:"id"`
	Kind       string            `json:"kind"`
	From       string            `json:"from"`
	To         string            `json:"to"`
	Who        string            `json:"who"`
	Status     string            `json:"status"`
	Error      string            `json:"error,omitempty"`
	NeedsForce bool              `json:"needsForce"`
	Done       int               `json:"done"`
	Steps      int               `json:"steps"`
	Timeline   timeline.Timeline `json:"timeline"`
	SVG        string            `json:"svg"`
}

// LedgerRow is one closed run.
type LedgerRow struct {
	App       string    `json:"app"`
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Who       string    `json:"who"`
	Status    string    `json:"status"`
	Decided   time.Time `json:"decided"`
	RTO       string    `json:"rto"`
	SystemRTO string    `json:"systemRTO"`
	RPO       string    `json:"rpo"`
	Steps     []string  `json:"steps"`
	Report    string    `json:"report"`
}

// Chart is an application's RTO and RPO over time, drawn (chart.go).
type Chart struct {
	App string `json:"app"`
	SVG string `json:"svg"`
}

// Build makes the view of in. It reads nothing and keeps nothing.
func Build(in Input) View {
	st := in.Status
	v := View{APIVersion: v1alpha1.GroupVersion, Kind: Kind, Daemon: st.Daemon, Time: st.Time,
		Caller:  Caller{Name: in.Caller.Name, Roles: roleNames(in.Caller.Roles), CanOperate: apitoken.Grants(in.Caller.Roles, apitoken.Operate)},
		Etcd:    EtcdView{Quorum: st.Etcd.Quorum, SelfFenced: st.Etcd.SelfFenced, Leader: st.Leader, Token: st.LeaderToken, Error: st.Etcd.Error},
		Regions: []Region{}, Apps: []AppView{}, MirrorSets: []SetView{}, Runs: []RunView{}, Ledger: []LedgerRow{}, Charts: []Chart{}}
	for _, m := range st.Etcd.Members {
		v.Etcd.Members = append(v.Etcd.Members, EtcdMember{Name: m.Name, RaftLeader: m.Leader})
	}
	v.Regions = regions(in.Topology, st)
	seenSet := map[string]bool{}
	for _, a := range st.Apps {
		v.Apps = append(v.Apps, appView(a, in.Now))
		if d := a.Data; d != nil && !seenSet[d.Name] {
			seenSet[d.Name] = true
			v.MirrorSets = append(v.MirrorSets, SetView{Name: d.Name, Apps: in.Topology.SetApps[d.Name], Primary: d.Primary,
				Bound: in.Topology.Bounds[d.Name], Error: d.Error, Members: append([]api.DataMember{}, d.Members...)})
		}
	}
	for i := range in.Open {
		v.Runs = append(v.Runs, runView(&in.Open[i], in.Now))
	}
	for i := len(in.History) - 1; i >= 0 && len(v.Ledger) < LedgerRows; i-- {
		v.Ledger = append(v.Ledger, ledgerRow(&in.History[i]))
	}
	for _, app := range appsOf(in.History) {
		if pts := Points(in.History, app); len(pts) > 0 {
			v.Charts = append(v.Charts, Chart{App: app, SVG: ChartSVG(app, pts)})
		}
	}
	return v
}

func roleNames(rs []apitoken.Role) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, string(r))
	}
	return out
}

// regions groups the sites by region in the fleet's order, each with the worst
// verdict any application's quorum gives it.
func regions(t Topology, st api.Status) []Region {
	out := []Region{}
	idx := map[string]int{}
	for _, s := range t.Sites {
		site := Site{Name: s.Name, Zones: append([]string{}, s.Zones...), Witness: s.Witness, Health: siteHealth(s, st),
			Active: []string{}, Leader: s.Name == st.Leader, Answering: s.Name == st.Daemon}
		for _, a := range st.Apps {
			if a.Active == s.Name {
				site.Active = append(site.Active, a.Name)
			}
		}
		i, ok := idx[s.Region]
		if !ok {
			i = len(out)
			idx[s.Region] = i
			out = append(out, Region{Name: s.Region})
		}
		out[i].Sites = append(out[i].Sites, site)
	}
	return out
}

// healthRank orders verdicts from worst to best: a site down for one application is
// down on the map.
var healthRank = map[string]int{"down": 0, "unknown": 1, "up": 2}

func siteHealth(s SiteInfo, st api.Status) string {
	worst := ""
	for _, a := range st.Apps {
		v, ok := a.Verdicts[s.Name]
		if !ok {
			continue
		}
		if _, known := healthRank[v]; !known {
			v = "unknown"
		}
		if worst == "" || healthRank[v] < healthRank[worst] {
			worst = v
		}
	}
	switch {
	case worst != "":
		return worst
	case s.Witness:
		return "witness"
	}
	return "unknown"
}

func appView(a api.App, now time.Time) AppView {
	v := AppView{Name: a.Name, Active: a.Active, Standby: a.Standby, Strategy: a.Strategy, Answers: []string{},
		Readiness: readinessView(a.Readiness, now)}
	if a.DNS != nil {
		v.DNSName, v.Answers = a.DNS.Name, append(v.Answers, a.DNS.Answers...)
	}
	v.Matrix = matrix(a)
	v.Findings = findings(a, v.Readiness)
	return v
}

// matrix lays out observations observer × site, both sorted, with the verdicts.
func matrix(a api.App) Matrix {
	m := Matrix{Observers: []string{}, Sites: []string{}, Cells: [][]Cell{}, Verdicts: []string{}}
	sites := map[string]bool{}
	for s := range a.Verdicts {
		sites[s] = true
	}
	for o, row := range a.Observations {
		m.Observers = append(m.Observers, o)
		for s := range row {
			sites[s] = true
		}
	}
	for s := range sites {
		m.Sites = append(m.Sites, s)
	}
	sort.Strings(m.Observers)
	sort.Strings(m.Sites)
	for _, o := range m.Observers {
		row := make([]Cell, len(m.Sites))
		for j, s := range m.Sites {
			ob, ok := a.Observations[o][s]
			switch {
			case !ok:
				row[j] = Cell{State: "none"}
			case ob.OK:
				row[j] = Cell{State: "ok", LatencyMS: ob.LatencyMS}
			default:
				row[j] = Cell{State: "failed", LatencyMS: ob.LatencyMS, Error: ob.Error}
			}
		}
		m.Cells = append(m.Cells, row)
	}
	for _, s := range m.Sites {
		v := a.Verdicts[s]
		if v == "" {
			v = "unknown"
		}
		m.Verdicts = append(m.Verdicts, v)
	}
	return m
}

// findings say what of an application's state needs a person: the active site down,
// DNS not answering it, data members behind or broken, an automatic failover held.
func findings(a api.App, ready *ReadinessView) []Finding {
	out := []Finding{}
	add := func(level, format string, args ...any) {
		out = append(out, Finding{Level: level, Text: fmt.Sprintf(format, args...)})
	}
	switch a.Verdicts[a.Active] {
	case "up":
		add("ok", "active site %s is up by quorum", a.Active)
	case "down":
		add("bad", "active site %s is down by quorum", a.Active)
	default:
		add("warn", "the quorum has no verdict on the active site %s yet", a.Active)
	}
	for _, s := range slices.Sorted(maps.Keys(a.Verdicts)) {
		if s != a.Active && a.Verdicts[s] == "down" {
			add("warn", "stand-by site %s is down by quorum: no failover target there", s)
		}
	}
	if a.DNS != nil && len(a.DNS.Answers) == 0 {
		add("bad", "%s has no answer", a.DNS.Name)
	}
	if d := a.Data; d != nil {
		if d.Error != "" {
			add("bad", "mirror set %s: %s", d.Name, d.Error)
		}
		if d.Primary == "" {
			add("bad", "mirror set %s has no primary accepting writes", d.Name)
		}
		for _, m := range d.Members {
			switch {
			case m.Error != "":
				add("bad", "member %s: %s", m.Name, m.Error)
			case m.State == "diverged" || m.State == "disconnected":
				add("warn", "member %s is %s", m.Name, m.State)
			case m.LagBytes > 0:
				add("warn", "member %s is %d bytes (%.1f s) behind", m.Name, m.LagBytes, m.LagSeconds)
			}
		}
	}
	if a.AutoFailoverHeld != "" {
		add("warn", "automatic failover held: %s", a.AutoFailoverHeld)
	}
	if a.NoAutoFailover != "" {
		add("warn", "no automatic failover: %s", a.NoAutoFailover)
	}
	if r := a.Run; r != nil {
		level := "warn"
		if r.Status == string(runbook.StatusFailed) {
			level = "bad"
		}
		add(level, "%s to %s %s at step %d of %d (%s)", r.Kind, r.To, r.Status, r.Step, r.Steps, r.StepName)
	}
	out = append(out, readinessFindings(ready)...)
	slices.SortStableFunc(out, func(x, y Finding) int { return levelRank[x.Level] - levelRank[y.Level] })
	return out
}

var levelRank = map[string]int{"bad": 0, "warn": 1, "ok": 2}

func runView(r *runbook.Record, now time.Time) RunView {
	tl := timeline.FromRun(r, now)
	v := RunView{App: r.App, ID: r.ID, Kind: string(r.Kind), From: r.From, To: r.To, Who: r.Who, Status: string(r.Status),
		Error: r.Error, NeedsForce: r.NeedsForce, Steps: len(r.Steps), Timeline: tl, SVG: timeline.SVG(tl)}
	for _, s := range r.Steps {
		if s.Ended != nil {
			v.Done++
		}
	}
	return v
}

func ledgerRow(r *runbook.Record) LedgerRow {
	row := LedgerRow{App: r.App, ID: r.ID, Kind: string(r.Kind), From: r.From, To: r.To, Who: r.Who, Status: string(r.Status),
		Decided: r.Decided, RTO: "—", SystemRTO: "—", RPO: rpoText(r), Steps: []string{},
		Report: "/ui/runs/" + r.App + "/" + r.ID}
	if r.RTO > 0 {
		row.RTO = time.Duration(r.RTO).Round(10 * time.Millisecond).String()
	}
	if r.SystemRTO > 0 {
		row.SystemRTO = time.Duration(r.SystemRTO).Round(10 * time.Millisecond).String()
	}
	for _, s := range r.Steps {
		took := "—"
		if s.Started != nil && s.Ended != nil {
			took = s.Ended.Sub(*s.Started).Round(time.Millisecond).String()
		}
		row.Steps = append(row.Steps, s.Name+" "+took)
	}
	return row
}

func rpoText(r *runbook.Record) string {
	l := r.RPO
	switch {
	case l == nil:
		return "—"
	case l.Counted:
		return fmt.Sprintf("%d tx (%d B)", l.Transactions, l.Bytes)
	case l.Bytes >= 0:
		return fmt.Sprintf("≥ %d B", l.Bytes)
	}
	return "unknown"
}

func appsOf(h []runbook.Record) []string {
	var out []string
	for _, r := range h {
		if !slices.Contains(out, r.App) {
			out = append(out, r.App)
		}
	}
	sort.Strings(out)
	return out
}
