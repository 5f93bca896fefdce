package replicate_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/objects"
	"hadron.dev/hadron/internal/replicate"
	"hadron.dev/hadron/internal/site"
)

// Sizes of the benchmark application: 2,000 objects in all.
const (
	benchConfigMaps  = 1600
	benchServices    = 200
	benchDeployments = 200
	benchChanges     = 200
)

// counting counts the HTTP requests a client makes.
type counting struct {
	n    *atomic.Int64
	next http.RoundTripper
}

func (c counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// countedConn is a connection to a site whose requests are counted; it keeps the
// client settings hadron uses (site.RESTConfig: QPS 100, burst 200).
func countedConn(b *testing.B, c *site.Conn, n *atomic.Int64) *site.Conn {
	cfg := rest.CopyConfig(c.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return counting{n: n, next: rt} }
	// BENCH_QPS overrides hadron's client rate limit, to see what the limit costs.
	if q, err := strconv.Atoi(os.Getenv("BENCH_QPS")); err == nil && q > 0 {
		cfg.QPS, cfg.Burst = float32(q), 2*q
	}
	out, err := site.ConnectConfig(c.Name, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkReplication measures, against two real control planes: the initial sync
// of 2,000 objects (time and API requests), the propagation latency of single changes
// (p50, p99) and the replicator's heap. Run it once:
//
//	cd lab && go test -run '^$' -bench BenchmarkReplication -benchtime 1x ./e2e/replicate/
//
// etcd of both sites runs inside this process, so memory is the growth of the Go heap
// from before the replicator started to after it synced (both after a GC).
func BenchmarkReplication(b *testing.B) {
	w := startWorld(b)
	ctx := context.Background()
	setup := rest.CopyConfig(w.conns["east"].Config)
	setup.QPS, setup.Burst = 2000, 4000
	east, err := site.ConnectConfig("east", setup)
	if err != nil {
		b.Fatal(err)
	}
	createBenchObjects(b, east)

	var reqs atomic.Int64
	active, standby := countedConn(b, w.conns["east"], &reqs), countedConn(b, w.conns["west"], &reqs)
	app := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "bench"}, Spec: v1alpha1.ApplicationSpec{
		Namespace: "bench", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/part-of": "bench"}},
		Policy: v1alpha1.Policy{Mode: v1alpha1.ModeActivePassive, ActiveSite: "east", StandbySites: []string{"west"}, Standby: v1alpha1.StandbyPilotLight},
	}}

	// The west watch that timestamps each change's arrival.
	arrived := sync.Map{} // value → time seen on west
	wf := informers.NewSharedInformerFactoryWithOptions(w.conns["west"].Kube, 0, informers.WithNamespace("bench"))
	inf := wf.Core().V1().ConfigMaps().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: func(_, o any) {
		if cm, ok := o.(*corev1.ConfigMap); ok && cm.Name == "cm-0" {
			arrived.LoadOrStore(cm.Data["v"], time.Now())
		}
	}})
	stopW := make(chan struct{})
	defer close(stopW)
	wf.Start(stopW)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	total := benchConfigMaps + benchServices + benchDeployments
	var created atomic.Int64
	done := make(chan struct{})
	r, err := replicate.New(replicate.Config{App: app, Active: active, Standbys: []*site.Conn{standby}, Workers: 4,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Observe: func(c objects.Change, err error) {
			if c.Action == objects.ActionCreate && err == nil && created.Add(1) == int64(total) {
				close(done)
			}
		}})
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	reqs.Store(0)
	go func() { errc <- r.Run(rctx) }()
	select {
	case <-done:
	case err := <-errc:
		b.Fatalf("replicator stopped: %v", err)
	case <-time.After(10 * time.Minute):
		b.Fatalf("initial sync incomplete after 10m: %d of %d", created.Load(), total)
	}
	syncTime := time.Since(start)
	syncReqs := reqs.Load()
	eventually(b, time.Minute, "queue drained", func() (bool, string) { return r.Idle(), "busy" })
	runtime.GC()
	runtime.ReadMemStats(&after)
	cache.WaitForCacheSync(stopW, inf.HasSynced)

	var lat []time.Duration
	for i := 1; i <= benchChanges; i++ {
		v := strconv.Itoa(i)
		t0 := time.Now()
		patch := []byte(`{"data":{"v":"` + v + `"}}`)
		if _, err := east.Kube.CoreV1().ConfigMaps("bench").Patch(ctx, "cm-0", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			b.Fatal(err)
		}
		var seen time.Time
		eventually(b, 30*time.Second, "change "+v+" on west", func() (bool, string) {
			t, ok := arrived.Load(v)
			if ok {
				seen = t.(time.Time)
			}
			return ok, ""
		})
		lat = append(lat, seen.Sub(t0))
	}
	b.StopTimer()
	cancel()
	<-errc
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	b.ReportMetric(syncTime.Seconds(), "sync-s")
	b.ReportMetric(float64(syncReqs), "sync-requests")
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	w.fleet.Applications = []*v1alpha1.Application{app}
	rss, peak := childMemory(b, writeFleet(b, w), "bench")
	b.ReportMetric(float64(rss)/(1<<20), "rss-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MiB")
	b.Logf("hadron replicate in its own process, %d objects in sync: RSS %.1f MiB, peak %.1f MiB", total, float64(rss)/(1<<20), float64(peak)/(1<<20))
	b.Logf("initial sync of %d objects: %s, %d API requests; %d single changes: p50 %s p99 %s max %s; heap growth %.1f MiB",
		total, syncTime.Round(time.Millisecond), syncReqs, len(lat), pct(0.5).Round(100*time.Microsecond), pct(0.99).Round(100*time.Microsecond),
		lat[len(lat)-1].Round(100*time.Microsecond), float64(heap)/(1<<20))
}

// createBenchObjects makes the benchmark application on east, 8 writers at a time.
func createBenchObjects(b *testing.B, c *site.Conn) {
	ctx := context.Background()
	if _, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	labels := map[string]string{"app.kubernetes.io/part-of": "bench"}
	jobs := make(chan func() error)
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 8 {
		wg.Go(func() {
			for j := range jobs {
				if err := j(); err != nil {
					failed.Store(err)
				}
			}
		})
	}
	for i := range benchConfigMaps {
		jobs <- func() error {
			_, err := c.Kube.CoreV1().ConfigMaps("bench").Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Labels: labels},
				Data:       map[string]string{"v": "0", "payload": fmt.Sprintf("%0256d", i)}}, metav1.CreateOptions{})
			return err
		}
	}
	zero := int32(0)
	for i := range benchServices {
		jobs <- func() error {
			_, err := c.Kube.CoreV1().Services("bench").Create(ctx, &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i), Labels: labels},
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": fmt.Sprint("d-", i)},
					Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}, metav1.CreateOptions{})
			return err
		}
	}
	for i := range benchDeployments {
		jobs <- func() error {
			sel := map[string]string{"app": fmt.Sprint("d-", i)}
			_, err := c.Kube.AppsV1().Deployments("bench").Create(ctx, &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("d-%d", i), Labels: labels},
				Spec: appsv1.DeploymentSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: sel},
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel},
						Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/app:1"}}}}}}, metav1.CreateOptions{})
			return err
		}
	}
	close(jobs)
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}

// childMemory runs `hadron replicate` for app in a process of its own until it has
// synced and its memory stopped growing, and returns its resident set and peak
// resident set in bytes. The binary is $HADRON_BINARY, else built from the checkout:
// this test binary would do (see TestMain) but carries the whole control plane, whose
// package initialisation alone costs some 150 MiB.
func childMemory(b *testing.B, fleetFile, app string) (rss, peak int64) {
	bin := os.Getenv("HADRON_BINARY")
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "hadron")
		build := exec.Command("go", "build", "-o", bin, "./cmd/hadron")
		build.Dir = filepath.Join("..", "..", "..")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("build hadron: %v\n%s", err, out)
		}
	}
	logs := &syncWriter{}
	cmd := exec.Command(bin, "replicate", app, "-f", fleetFile)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	status := func() (int64, int64) {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			return 0, 0
		}
		var rss, hwm int64
		for _, line := range strings.Split(string(raw), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				if f[0] == "VmRSS:" {
					rss = n << 10
				} else {
					hwm = n << 10
				}
			}
		}
		return rss, hwm
	}
	eventually(b, 2*time.Minute, "child replicator synced", func() (bool, string) {
		return strings.Contains(logs.String(), "caches synced"), ""
	})
	// Settled: RSS has not grown for 10 polls in a row (bounded by the deadline).
	last, still := int64(0), 0
	eventually(b, time.Minute, "child memory settled", func() (bool, string) {
		r, _ := status()
		if r <= last {
			still++
		} else {
			last, still = r, 0
		}
		return still >= 10, fmt.Sprint(r)
	})
	return status()
}

// syncWriter is a buffer the child writes to while the benchmark reads it.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
