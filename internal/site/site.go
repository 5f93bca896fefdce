// Package site connects to the Kubernetes cluster of a fleet Site through its
// kubeconfig context, and applies objects to it with server-side apply.
package site

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"hadron.dev/hadron/api/v1alpha1"
)

// FieldManager is the server-side apply field manager of everything hadron writes.
const FieldManager = "hadron"

// ErrNoCluster is returned for a site without a kube context: a witness usually (one
// that runs its daemon in a cluster, by the Helm chart, names that cluster's context,
// and hadron writes only its custom resources' status and Events there).
var ErrNoCluster = errors.New("site has no Kubernetes cluster")

// Conn is a connection to one site's cluster.
type Conn struct {
	Name    string
	Config  *rest.Config
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	Mapper  *restmapper.DeferredDiscoveryRESTMapper

	inf informers // shared by every user of a kind (informers.go)
}

// RESTConfig builds the client configuration of s; relative kubeconfig paths are
// resolved against fleetDir.
func RESTConfig(s *v1alpha1.Site, fleetDir string) (*rest.Config, error) {
	if s.Spec.KubeContext == "" {
		return nil, fmt.Errorf("site %s: %w", s.Name, ErrNoCluster)
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if s.Spec.Kubeconfig != "" {
		p := s.Spec.Kubeconfig
		if !filepath.IsAbs(p) {
			p = filepath.Join(fleetDir, p)
		}
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("site %s: kubeconfig %s (spec.kubeconfig) does not exist", s.Name, p)
		}
		rules.ExplicitPath = p
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: s.Spec.KubeContext})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("site %s: kube context %q: %w", s.Name, s.Spec.KubeContext, err)
	}
	Tune(cfg)
	return cfg, nil
}

// Tune gives a site's client configuration hadron's timeout and rate limits: client-go's
// default of 5 requests a second would hold a failover's writes back.
func Tune(cfg *rest.Config) {
	cfg.Timeout = 15 * time.Second
	cfg.QPS, cfg.Burst = 100, 200
}

// Connect opens clients for s.
func Connect(s *v1alpha1.Site, fleetDir string) (*Conn, error) {
	cfg, err := RESTConfig(s, fleetDir)
	if err != nil {
		return nil, err
	}
	return ConnectConfig(s.Name, cfg)
}

// ConnectConfig opens clients for a rest.Config.
func ConnectConfig(name string, cfg *rest.Config) (*Conn, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", name, err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", name, err)
	}
	return &Conn{
		Name: name, Config: cfg, Kube: kube, Dynamic: dyn,
		Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
	}, nil
}

// Ping checks that the site's API server answers /readyz.
func (c *Conn) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.Kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		return fmt.Errorf("site %s: %w", c.Name, err)
	}
	return nil
}
