package world

import (
	"context"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/lab/internal/links"
)

// Status is everything `hadron lab status` prints.
type Status struct {
	Dir        string         `json:"dir"`
	Phase      string         `json:"phase"`
	Error      string         `json:"error,omitempty"`
	StartedAt  time.Time      `json:"startedAt"`
	ReadyAfter time.Duration  `json:"readyAfter,omitempty"`
	Kubeconfig string         `json:"kubeconfig"`
	Fleet      string         `json:"fleet"`
	Sites      []SiteStatus   `json:"sites"`
	Links      []links.Status `json:"links"`
	Databases  []MemberStatus `json:"databases,omitempty"`
	Events     []Event        `json:"events"`
}

// SiteStatus is one site's health.
type SiteStatus struct {
	Name         string       `json:"name"`
	Region       string       `json:"region"`
	Role         string       `json:"role"`
	Failed       bool         `json:"failed"`
	APIServer    string       `json:"apiServer,omitempty"`
	ControlPlane string       `json:"controlPlane"` // ok, down, not ready: reason
	Zones        []ZoneStatus `json:"zones,omitempty"`
	LoadBalancer string       `json:"loadBalancer,omitempty"`
	ReadyPods    int32        `json:"readyPods"`
	Demo         string       `json:"demo,omitempty"`
}

// ZoneStatus counts a zone's nodes.
type ZoneStatus struct {
	Zone  string `json:"zone"`
	Ready int    `json:"ready"`
	Total int    `json:"total"`
}

// MemberStatus is one database member's process.
type MemberStatus struct {
	Name    string `json:"name"`
	Site    string `json:"site"`
	Zone    string `json:"zone"`
	Role    string `json:"role"`
	Address string `json:"address"`
	Running bool   `json:"running"`
}

// Status probes every site (bounded in time) and returns the world's state.
func (w *World) Status(ctx context.Context) Status {
	w.mu.Lock()
	st := Status{
		Dir: string(w.opts.Dir), Phase: w.phase, Error: w.err, StartedAt: w.started, ReadyAfter: w.readyDur,
		Kubeconfig: w.opts.Dir.Kubeconfig(), Fleet: w.opts.Dir.Fleet(),
		Events: append([]Event(nil), w.events...),
	}
	w.mu.Unlock()
	if w.links != nil {
		st.Links = w.links.Status()
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range w.cfg.Indexed() {
		wg.Add(1)
		go func(s *site) {
			defer wg.Done()
			ss := w.siteStatus(ctx, s)
			mu.Lock()
			st.Sites = append(st.Sites, ss)
			mu.Unlock()
		}(w.sites[s.Name])
	}
	wg.Wait()
	order := map[string]int{}
	for _, s := range w.cfg.Indexed() {
		order[s.Name] = s.Index
	}
	sort.Slice(st.Sites, func(i, j int) bool { return order[st.Sites[i].Name] < order[st.Sites[j].Name] })
	if w.db != nil {
		st.Databases = w.db.status()
	}
	return st
}

func (w *World) siteStatus(ctx context.Context, s *site) SiteStatus {
	ss := SiteStatus{Name: s.top.Name, Region: s.top.Region, Role: s.top.Role, Failed: s.failed}
	if !w.cfg.Clustered(s.top) {
		ss.ControlPlane = "none (witness)"
		return ss
	}
	ss.APIServer = "https://" + s.top.APIServer()
	if !s.top.Workload() {
		return ss
	}
	ss.LoadBalancer = s.top.Ingress()
	if s.ingress != nil {
		ss.ReadyPods = s.ingress.Ready()
	}
	if s.demo != nil {
		ss.Demo = "stopped"
		if s.demo.running() {
			ss.Demo = "running on " + s.top.Demo()
		}
	}
	if s.client == nil || s.cp == nil || !s.cp.running() {
		ss.ControlPlane = "down"
		return ss
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	body, err := s.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		ss.ControlPlane = "not ready: " + err.Error()
		return ss
	}
	ss.ControlPlane = string(body)
	nodes, err := s.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return ss
	}
	byZone := map[string]*ZoneStatus{}
	for _, z := range s.top.Zones {
		byZone[z] = &ZoneStatus{Zone: z}
	}
	for _, n := range nodes.Items {
		z := n.Labels[corev1.LabelTopologyZone]
		if byZone[z] == nil {
			byZone[z] = &ZoneStatus{Zone: z}
		}
		byZone[z].Total++
		if nodeReady(&n) {
			byZone[z].Ready++
		}
	}
	for _, z := range byZone {
		ss.Zones = append(ss.Zones, *z)
	}
	sort.Slice(ss.Zones, func(i, j int) bool { return ss.Zones[i].Zone < ss.Zones[j].Zone })
	return ss
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
