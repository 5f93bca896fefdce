package controlplane

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"hadron.dev/hadron/internal/atomicfile"
)

// writeKubeconfig writes a kubeconfig for the client certificate at certBase, with the
// certificates embedded so that the file can be merged or copied anywhere.
func writeKubeconfig(path, site, server, caPath, certBase string) error {
	ca, err := os.ReadFile(caPath)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	crt, err := os.ReadFile(certBase + ".crt")
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	key, err := os.ReadFile(certBase + ".key")
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	name := Context(site)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: crt, ClientKeyData: key}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return atomicfile.Write(path, b, 0o600)
}
