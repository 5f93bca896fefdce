package crds_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/crwrite"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/manifests"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/internal/site"
)

// etcdNet is the loopback network of this test's etcd member (127.0.194.41).
const etcdNet = 194

// testStatusWriter runs the daemon's status writer (crwrite, with the runs read from
// a real etcd member as the leader reads them) against the API server holding the
// exported demo fleet: the status of shop and shop-db, no write when nothing changed,
// and the Events of a failover run executed by the real runbook engine.
func testStatusWriter(t *testing.T, kubeconfig string, exported []byte, kubectl func(t *testing.T, args ...string) string) {
	f, err := manifests.Read(fleet.Source{Name: "exported.yaml", Data: exported})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// Every workload site of the fleet is this one cluster; the writer is given it
	// under the first site's name only, so each object is written once.
	conn, err := site.ConnectConfig("east", cfg)
	if err != nil {
		t.Fatal(err)
	}
	workload := ""
	for _, s := range f.Sites {
		if s.Spec.Role != v1alpha1.SiteRoleWitness && workload == "" {
			workload = s.Name
		}
	}
	app := f.Application("shop")
	from := app.Spec.Policy.ActiveSite
	to := ""
	for _, s := range f.Sites {
		if s.Spec.Role != v1alpha1.SiteRoleWitness && s.Name != from {
			to = s.Name
		}
	}

	// A one-member etcd and its leadership: the runs are stored as a leader stores them.
	ef := coordtest.Fleet(etcdNet)
	ef.Sites = ef.Sites[:1]
	_, members := coordtest.StartCluster(t, ef)
	etcd := members[0].Client
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tok, err := coord.NewElector(etcd, ef.Sites[0].Name, 10*time.Second).Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// What the daemon's status says of shop; the test moves it as the probes and the
	// run would.
	status := api.App{Name: "shop", Active: from, Verdicts: map[string]string{from: "up", to: "up"},
		Observations: map[string]map[string]api.Observation{},
		Data: &api.DataSet{Name: "shop-db", Primary: from + "-0", Members: []api.DataMember{
			{Name: from + "-0", Site: from, Role: "primary", State: "primary", Timeline: 1},
			{Name: to + "-0", Site: to, Role: "dr-async", State: "streaming", LagBytes: 64, LagSeconds: 0.2, Timeline: 1},
		}},
		Readiness: &api.Readiness{At: time.Now(), Active: from}}
	// Three observers reach both sites; the region loss below silences the active one.
	observe := func(site string, reached bool) {
		for _, o := range []string{"east", "west", "witness"} {
			if status.Observations[o] == nil {
				status.Observations[o] = map[string]api.Observation{}
			}
			status.Observations[o][site] = api.Observation{OK: reached, Reached: reached}
		}
	}
	observe(from, true)
	observe(to, true)
	logPath := filepath.Join(t.TempDir(), "writer.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	w := &crwrite.Writer{Fleet: f, Instance: "east",
		Connect: func(name string) (*site.Conn, error) {
			if name != workload {
				return nil, site.ErrNoCluster
			}
			return conn, nil
		},
		Source: crwrite.FromEtcd(etcd, func(context.Context) api.Status {
			return api.Status{Daemon: "east", Apps: []api.App{status}}
		}),
		Log: slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	round := func(t *testing.T) crwrite.Result {
		t.Helper()
		res, err := w.Round(ctx)
		if err != nil {
			t.Fatalf("round: %v", err)
		}
		return res
	}
	apps := conn.Dynamic.Resource(schema.GroupVersionResource{Group: "hadron.dev", Version: "v1alpha1", Resource: "applications"})
	get := func(t *testing.T) (*unstructured.Unstructured, *v1alpha1.ApplicationStatus) {
		t.Helper()
		o, err := apps.Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var a v1alpha1.Application
		if err := fromUnstructured(o, &a); err != nil {
			t.Fatal(err)
		}
		if a.Status == nil {
			t.Fatal("shop has no status")
		}
		return o, a.Status
	}
	condition := func(st *v1alpha1.ApplicationStatus, typ string) string {
		for _, c := range st.Conditions {
			if c.Type == typ {
				return string(c.Status) + "/" + c.Reason
			}
		}
		return "-"
	}

	nSites := len(f.Sites)
	if res := round(t); res.Written != 2+nSites || res.Events != 0 { // the baseline: status, no events
		t.Errorf("first round: %+v, want shop, shop-db and %d sites written, no events", res, nSites)
	}
	siteReady := func(t *testing.T, name string) string {
		t.Helper()
		return kubectl(t, "get", "sites", name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason} {.status.conditions[?(@.type=="Degraded")].status}`)
	}
	if got := siteReady(t, from); got != "True/SiteAnswers False" {
		t.Errorf("site %s status: %q, want Ready True/SiteAnswers, Degraded False", from, got)
	}
	if got := strings.Fields(kubectl(t, "get", "sites", from, "--no-headers")); len(got) < 4 || got[3] != "True" {
		t.Errorf("kubectl get sites %s: %q, want READY True", from, got)
	}
	o, st := get(t)
	if st.ActiveSite != from || condition(st, "Ready") != "True/ActiveSiteUp" || condition(st, "FailingOver") != "False/NoRun" ||
		st.ObservedGeneration != o.GetGeneration() || len(st.Conditions) != 5 {
		t.Fatalf("after the first round: %+v", st)
	}
	if got := strings.Fields(kubectl(t, "get", "applications", "shop", "--no-headers")); len(got) < 4 || got[2] != from || got[3] != "True" {
		t.Errorf("kubectl get applications: %q, want ACTIVE %s READY True", got, from)
	}
	if got := kubectl(t, "get", "mirrorsets", "shop-db", "-o", "jsonpath={.status.primary} {.status.members[1].role} {.status.members[1].lagBytes}"); got != from+"-0 dr-async 64" {
		t.Errorf("mirror set status: %q", got)
	}

	// Nothing changed: nothing written (a hundred applications do not flood the API
	// server every round).
	if res := round(t); res.Written != 0 || res.Unchanged != 2+nSites {
		t.Errorf("a round without change: %+v, want nothing written", res)
	}
	if o2, _ := get(t); o2.GetResourceVersion() != o.GetResourceVersion() {
		t.Errorf("a round without change wrote shop: resourceVersion %s → %s", o.GetResourceVersion(), o2.GetResourceVersion())
	}

	// The active site goes down; a failover is decided and runs on the real engine.
	// Its promote step waits until the test has looked at the run half way.
	status.Verdicts[from] = "down"
	observe(from, false)
	rec, err := runbook.Launch(ctx, etcd, tok, runbook.Failover, "shop", from, to, "auto", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	release, reached := make(chan struct{}), make(chan struct{}, 1)
	steps := map[string]runbook.Step{}
	for _, s := range rec.Steps {
		name := s.Name
		steps[name] = runbook.Step{Do: func(ctx context.Context, _ coord.Token, r *runbook.Record) (string, error) {
			switch name {
			case runbook.StepFence:
				return "postgres://hadron:s3cret@" + from + "-0 made read-only", nil
			case runbook.StepPromote:
				reached <- struct{}{}
				<-release
				return "promoted " + to + "-0", nil
			case runbook.StepVerify:
				runbook.MarkVerified(r, time.Now())
			}
			return name + " done", nil
		}}
	}
	done := make(chan error, 1)
	go func() { done <- (&runbook.Engine{Client: etcd, Steps: steps}).Run(ctx, tok, rec) }()
	<-reached
	open, err := runbook.Open(ctx, etcd, "shop")
	if err != nil || open == nil {
		t.Fatalf("open run: %v %v", open, err)
	}
	status.Run = &api.OpenRun{ID: open.ID, Kind: "failover", From: from, To: to, Who: "auto", Status: "running", Step: 2, Steps: len(open.Steps), StepName: runbook.StepPromote}
	round(t)
	_, st = get(t)
	if condition(st, "FailingOver") != "True/RunRunning" || condition(st, "Ready") != "False/ActiveSiteDown" || condition(st, "Degraded") != "True/SiteDown" {
		t.Errorf("during the run: %+v", st.Conditions)
	}
	wantEvents(t, ctx, conn, "RunStarted,FailoverDecided,StepFinished,Fenced")
	// The lost region shows down in the cluster that survives.
	if got := siteReady(t, from); got != "False/SiteDown True" {
		t.Errorf("site %s status with its region lost: %q, want Ready False/SiteDown, Degraded True", from, got)
	}

	close(release)
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	status.Run, status.Active = nil, to
	status.Verdicts[to] = "up"
	round(t)
	_, st = get(t)
	m := st.LastMove
	if st.ActiveSite != to || condition(st, "FailingOver") != "False/NoRun" || m == nil ||
		m.Kind != v1alpha1.MoveFailover || m.From != from || m.To != to || m.Run != rec.ID || !m.Succeeded || m.RTO == nil {
		t.Errorf("after the run: active %s, %+v, last move %+v", st.ActiveSite, st.Conditions, m)
	}
	evs := wantEvents(t, ctx, conn, "RunStarted,FailoverDecided,StepFinished,Fenced,StepFinished*,RunFinished")
	for _, e := range evs {
		if e.ReportingController != crwrite.Controller || e.ReportingInstance != "east" || e.Regarding.Kind != "Application" || e.Regarding.UID == "" {
			t.Errorf("event %s: controller %q instance %q regarding %+v", e.Reason, e.ReportingController, e.ReportingInstance, e.Regarding)
		}
		if strings.Contains(e.Note, "s3cret") {
			t.Errorf("event %s carries a password: %q", e.Reason, e.Note)
		}
	}
	// What a person sees.
	if out := kubectl(t, "describe", "applications", "shop"); !strings.Contains(out, "RunFinished") || !strings.Contains(out, "FailoverDecided") {
		t.Errorf("kubectl describe applications shop shows no run events:\n%s", out)
	}
	if b, _ := os.ReadFile(logPath); t.Failed() {
		t.Logf("writer log:\n%s", b)
	}
}

// wantEvents waits until shop's Events, oldest first, match want: reasons separated
// by commas, "X*" standing for one or more X.
func wantEvents(t *testing.T, ctx context.Context, c *site.Conn, want string) []eventsv1.Event {
	t.Helper()
	var got []eventsv1.Event
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := c.Kube.EventsV1().Events(crwrite.EventNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, e := range list.Items {
			if e.Regarding.Name == "shop" && e.Regarding.Kind == "Application" {
				got = append(got, e)
			}
		}
		sortEvents(got)
		if matchReasons(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			var rs []string
			for _, e := range got {
				rs = append(rs, e.Reason+": "+e.Note)
			}
			t.Fatalf("events of shop:\n%s\nwant %s", strings.Join(rs, "\n"), want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func sortEvents(evs []eventsv1.Event) {
	// The writer names events app.<nanoseconds in hex>, in the order it writes them.
	slices.SortFunc(evs, func(a, b eventsv1.Event) int { return strings.Compare(a.Name, b.Name) })
}

func matchReasons(evs []eventsv1.Event, want string) bool {
	i := 0
	for _, w := range strings.Split(want, ",") {
		r, many := strings.CutSuffix(w, "*")
		if i >= len(evs) || evs[i].Reason != r {
			return false
		}
		i++
		for many && i < len(evs) && evs[i].Reason == r {
			i++
		}
	}
	return i == len(evs)
}

func fromUnstructured(o *unstructured.Unstructured, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into)
}
