package controlplane

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"hadron.dev/hadron/lab/internal/controlplane/roles"
	"hadron.dev/hadron/lab/internal/nodes"
)

// Tunables that make faults visible in seconds instead of the production minutes.
const (
	// kwok renews each node lease every quarter of this.
	nodeLeaseSeconds = 8
	// kube-controller-manager marks a node NotReady after this long without a lease renewal.
	nodeMonitorGracePeriod = "10s"
	serviceCIDR            = "10.96.0.0/16"
	podCIDR                = "10.244.0.0/16"
	// controlPlaneQPS is the controller-manager's and the scheduler's client rate.
	controlPlaneQPS = 200
)

func hostPort(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }

// apiServerURL is the URL clients of the site use.
func apiServerURL(ip string) string { return "https://" + hostPort(ip, APIServerPort) }

// componentArgs returns each component's command line (after the role name); pure.
func componentArgs(c Config, l layout) map[string][]string {
	ip := c.IP
	common := func(role, port string) []string {
		kc := l.component(role)
		return []string{
			"--kubeconfig=" + kc,
			"--authentication-kubeconfig=" + kc,
			"--authorization-kubeconfig=" + kc,
			"--bind-address=" + ip,
			"--secure-port=" + port,
			"--cert-dir=" + l.pki(role),
			"--leader-elect=false",
			"--profiling=false",
		}
	}
	return map[string][]string{
		roles.APIServer: {
			"--advertise-address=" + ip,
			"--bind-address=" + ip,
			"--secure-port=" + strconv.Itoa(APIServerPort),
			"--etcd-servers=http://" + hostPort(ip, EtcdClientPort),
			"--cert-dir=" + l.pki("apiserver-generated"),
			"--tls-cert-file=" + l.pki("apiserver.crt"),
			"--tls-private-key-file=" + l.pki("apiserver.key"),
			"--client-ca-file=" + l.ca("ca.crt"),
			// Published for the controller-manager's and scheduler's delegated
			// authentication, which otherwise log a missing bundle forever.
			"--requestheader-client-ca-file=" + l.ca("ca.crt"),
			"--requestheader-allowed-names=front-proxy-client",
			"--requestheader-username-headers=X-Remote-User",
			"--requestheader-group-headers=X-Remote-Group",
			"--requestheader-extra-headers-prefix=X-Remote-Extra-",
			"--service-account-key-file=" + l.pki("sa.pub"),
			"--service-account-signing-key-file=" + l.pki("sa.key"),
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-cluster-ip-range=" + serviceCIDR,
			// The endpoint reconciler refuses a loopback advertise address; no pod of the
			// lab needs the kubernetes Service's endpoints.
			"--endpoint-reconciler-type=none",
			"--authorization-mode=Node,RBAC",
			"--allow-privileged=true",
			"--enable-priority-and-fairness=false",
			"--profiling=false",
			"--event-ttl=30m",
		},
		roles.ControllerManager: append(common(roles.ControllerManager, strconv.Itoa(ControllerManagerPort)),
			"--service-account-private-key-file="+l.pki("sa.key"),
			"--root-ca-file="+l.ca("ca.crt"),
			"--use-service-account-credentials=true",
			"--cluster-signing-cert-file="+l.ca("ca.crt"),
			"--cluster-signing-key-file="+l.ca("ca.key"),
			"--cluster-cidr="+podCIDR,
			"--node-monitor-period=1s",
			"--node-monitor-grace-period="+nodeMonitorGracePeriod,
			// A lab zone has a handful of nodes: without these, kube-controller-manager
			// treats a zone with most nodes down as a partial disruption and stops
			// evicting from it (rate 0 below the large-cluster size).
			"--node-eviction-rate=100",
			"--secondary-node-eviction-rate=100",
			"--large-cluster-size-threshold=1",
			// The upstream client limits (20 requests/s, 5 concurrent Deployment and
			// ReplicaSet syncs) are sized for a small cluster: a region loss of 100
			// applications then waits at the stand-by for its controller-manager to
			// create their pods (bench/scale, 100 applications, idle machine: activate
			// p50 16.3 s / max 21.7 s with the defaults, 5.7 s / 8.6 s with these). A
			// stand-by meant to take a region's load is tuned for it, as kwokctl tunes
			// simulated clusters.
			"--kube-api-qps="+strconv.Itoa(controlPlaneQPS),
			"--kube-api-burst="+strconv.Itoa(2*controlPlaneQPS),
			"--concurrent-deployment-syncs=20",
			"--concurrent-replicaset-syncs=20",
		),
		roles.Scheduler: append(common(roles.Scheduler, strconv.Itoa(SchedulerPort)),
			"--kube-api-qps="+strconv.Itoa(controlPlaneQPS),
			"--kube-api-burst="+strconv.Itoa(2*controlPlaneQPS)),
		roles.Kwok: {
			"--kubeconfig=" + l.component(roles.Kwok),
			"--config=" + l.kwokConfig(),
			"--manage-nodes-with-label-selector=" + nodes.ManagedSelector(),
			"--node-lease-duration-seconds=" + strconv.Itoa(nodeLeaseSeconds),
			"--cidr=" + podCIDR,
			"--node-ip=" + ip,
			// At info level kwok logs every lease renewal (about one line a second).
			"--v=WARN",
		},
	}
}

// apiServerSANs lists the names and addresses in the API server's certificate.
func apiServerSANs(c Config) (dns []string, ips []net.IP) {
	dns = []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	ips = []net.IP{net.ParseIP(c.IP), net.ParseIP("127.0.0.1"), firstServiceIP()}
	for _, s := range c.APIServerSANs {
		if ip := net.ParseIP(s); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, s)
		}
	}
	return dns, ips
}

// firstServiceIP is the ClusterIP of the kubernetes Service (.1 of the service range).
func firstServiceIP() net.IP {
	ip, _, _ := net.ParseCIDR(serviceCIDR)
	ip = ip.To4()
	return net.IPv4(ip[0], ip[1], ip[2], ip[3]+1)
}

// kwokConfig is kwok's configuration file: its options and the stages that make nodes
// Ready and pods Running at once.
func kwokConfig(stages []string) string {
	var b strings.Builder
	// kwok applies its defaults only to fields of a configuration it generates itself, so
	// the parallelism settings are spelled out.
	b.WriteString(`apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  podPlayStageParallelism: 4
  nodePlayStageParallelism: 4
  nodeLeaseParallelism: 4
  podsOnNodeSyncParallelism: 2
  enablePodsOnNodeSyncListPager: true
  enablePodsOnNodeSyncStreamWatch: false
`)
	for _, s := range stages {
		fmt.Fprintf(&b, "---\n%s\n", strings.TrimSpace(s))
	}
	return b.String()
}
