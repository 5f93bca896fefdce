package world

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// siteKubeconfig is where `hadron-lab site` writes the site's admin kubeconfig.
func siteKubeconfig(siteDir string) string { return filepath.Join(siteDir, "kubeconfig") }

func siteClient(siteDir string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", siteKubeconfig(siteDir))
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.Timeout = 10 * time.Second
	cfg.QPS, cfg.Burst = 50, 100
	return kubernetes.NewForConfig(cfg)
}

// writeKubeconfig merges every site's kubeconfig into one with a context per site.
func (w *World) writeKubeconfig() error {
	merged := clientcmdapi.NewConfig()
	var names []string
	for name, s := range w.sites {
		if w.cfg.Clustered(s.top) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		c, err := clientcmd.LoadFromFile(siteKubeconfig(w.opts.Dir.Site(name)))
		if err != nil {
			return fmt.Errorf("site %s: kubeconfig: %w", name, err)
		}
		for k, v := range c.Clusters {
			merged.Clusters[k] = v
		}
		for k, v := range c.AuthInfos {
			merged.AuthInfos[k] = v
		}
		for k, v := range c.Contexts {
			merged.Contexts[k] = v
		}
		if merged.CurrentContext == "" {
			merged.CurrentContext = c.CurrentContext
		}
	}
	if err := clientcmd.WriteToFile(*merged, w.opts.Dir.Kubeconfig()); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return os.Chmod(w.opts.Dir.Kubeconfig(), 0o600)
}
