package world

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	siteconn "hadron.dev/hadron/internal/site"
	"hadron.dev/hadron/lab/internal/realnode"
	"hadron.dev/hadron/lab/internal/topology"
)

// With daemonPods the daemons are pods: hadron's Helm chart installs one release per
// site, in this namespace, from the image make images built.
const (
	DaemonNamespace = "hadron-system"
	daemonRelease   = "hadron"
	// labFilesSecret holds the files the lab's fleet names (the sites' kubeconfig, the
	// database password and certificates, the backup repository's secrets), mounted
	// at labFilesDir in the daemon's pod: the fleet the pods read names them there.
	labFilesSecret = "hadron-lab-files"
	labFilesDir    = "/etc/hadron/lab"
)

// podPaths are the fleet's files as the daemons' pods see them (labFilesSecret).
// PostgresDir stays the host's: the members are host processes, which a daemon in a
// pod drives over SQL only.
func podPaths(d Dir) topology.Paths {
	p := labPaths(d)
	p.Kubeconfig = filepath.Join(labFilesDir, "kubeconfig")
	p.PasswordFile = filepath.Join(labFilesDir, "password")
	p.CACert = filepath.Join(labFilesDir, "ca.crt")
	p.PostgresCerts = labFilesDir
	p.TSIGFile = filepath.Join(labFilesDir, "tsig.key")
	p.ObjectStoreDir = labFilesDir
	return p
}

// labFiles maps a key of labFilesSecret to the host file it copies; the keys are the
// base names podPaths uses. The kubeconfig is not the host's (tokenKubeconfig).
func (w *World) labFiles() map[string]string {
	d := w.opts.Dir
	host, pod := labPaths(d), podPaths(d)
	files := map[string]string{
		filepath.Base(pod.PasswordFile): host.PasswordFile,
		filepath.Base(pod.CACert):       host.CACert,
	}
	if w.corp != nil {
		files[filepath.Base(pod.TSIGFile)] = host.TSIGFile
	}
	if w.cfg.BackupsEnabled() {
		// The repository's keys and passphrase: the daemons' drivers read them (the
		// members' pods archive; the daemons read the archive's state over SQL).
		for _, f := range topology.ObjectStoreSecretFiles {
			files[f] = filepath.Join(host.ObjectStoreDir, f)
		}
	}
	for _, m := range w.cfg.Members() {
		crt, key := topology.MemberCert(host.PostgresCerts, m.Name)
		files[filepath.Base(crt)], files[filepath.Base(key)] = crt, key
	}
	return files
}

// toolBeside finds a program beside hadron-lab (make build's bin), else on PATH.
func (w *World) toolBeside(name, hint string) (string, error) {
	p := filepath.Join(filepath.Dir(w.opts.LabBinary), name)
	if fileExists(p) {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("daemonPods: %s is neither beside %s nor on PATH (%s)", name, w.opts.LabBinary, hint)
}

// chartDir is hadron's chart: the repository's charts/hadron above make build's bin.
func (w *World) chartDir() (string, error) {
	dir := filepath.Join(filepath.Dir(w.opts.LabBinary), "..", "charts", "hadron")
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		return "", fmt.Errorf("daemonPods: hadron's chart: %w", err)
	}
	return filepath.Abs(dir)
}

// hadronImageTag is the tag of the hadron image the nodes imported (make images tags
// it with the build's version).
func hadronImageTag(tarPath string) (string, error) {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(tarPath) })
	if err != nil {
		return "", fmt.Errorf("daemonPods: image %s: %w", tarPath, err)
	}
	for _, d := range m {
		for _, t := range d.RepoTags {
			if repo, tag, ok := strings.Cut(t, ":"); ok && repo == realnode.HadronRepository {
				return tag, nil
			}
		}
	}
	return "", fmt.Errorf("daemonPods: image %s holds no %s tag", tarPath, realnode.HadronRepository)
}

// daemonValues are the chart's values for s's release in the lab: the daemon on its
// node's network (the lab's cross-region links listen on the host's loopback
// addresses, which a pod's own network cannot reach), listening on the pod's IP, its
// Service at the address the fleet names for the site's daemon (the lab's load
// balancer), its etcd data on a local volume of a real node.
func daemonValues(s topology.Site, tag string) map[string]any {
	host := strings.Split(s.DaemonAPI(), ":")[0]
	role := "workload"
	if !s.Workload() {
		role = "witness"
	}
	return map[string]any{
		"site": s.Name, "region": s.Region, "role": role,
		"image":         map[string]any{"tag": tag, "pullPolicy": "Never"},
		"hostNetwork":   true,
		"localListen":   host,
		"kubernetesAPI": map[string]any{"host": s.ControlPlaneIP(), "port": strconv.Itoa(topology.PortAPIServer)},
		// The kubelet gives a Secret volume no fsGroup here (docs/design/lab-real-nodes.md).
		"pki":   map[string]any{"defaultMode": 0o444},
		"ports": map[string]any{"api": topology.PortDaemonAPI, "etcdPeer": topology.PortEtcdPeer},
		"service": map[string]any{
			"loadBalancerIP": host,
			"ports":          map[string]any{"api": topology.PortDaemonAPI, "etcdPeer": topology.PortEtcdPeer, "dns": topology.PortDNS},
		},
		"persistence":  map[string]any{"size": "1Gi", "storageClassName": StorageClassLocal},
		"nodeSelector": map[string]any{realnode.LabelKind: realnode.KindReal},
		"extraVolumes": []any{map[string]any{"name": "lab-files",
			"secret": map[string]any{"secretName": labFilesSecret, "defaultMode": 0o444}}},
		"extraVolumeMounts": []any{map[string]any{"name": "lab-files", "mountPath": labFilesDir, "readOnly": true}},
	}
}

// startDaemonPods installs hadron into every site's cluster: the PKI, the fleet as
// custom resources, the Secrets the chart and the fleet name, then `helm upgrade
// --install` of charts/hadron; it returns once every daemon answers at its address.
func (w *World) startDaemonPods(ctx context.Context) error {
	if err := w.daemons.InitPKI(ctx); err != nil {
		return err
	}
	helm, err := w.toolBeside("helm", "make helm")
	if err != nil {
		return err
	}
	chart, err := w.chartDir()
	if err != nil {
		return err
	}
	tarPath, ok := w.images[realnode.HadronRepository]
	if !ok {
		return errors.New("daemonPods: hadron's image is missing: make images (bin/images/hadron.tar)")
	}
	tag, err := hadronImageTag(tarPath)
	if err != nil {
		return err
	}
	fleetYAML, err := w.cfg.FleetYAML(podPaths(w.opts.Dir))
	if err != nil {
		return err
	}
	fleetFile := w.opts.Dir.path("fleet-pods.yaml")
	if err := os.WriteFile(fleetFile, fleetYAML, 0o644); err != nil {
		return fmt.Errorf("daemonPods: %w", err)
	}
	// Every daemon reaches every cluster as its release's service account, whose
	// ClusterRole is the chart's least-privilege one: its own through the pod's
	// credentials, the others through a kubeconfig of the accounts' tokens.
	conns := make([]*siteconn.Conn, len(w.cfg.Sites))
	tokens := map[string]string{}
	var mu sync.Mutex
	if err := w.eachSite(func(i int, s *site) error {
		conn, token, err := w.prepareDaemon(ctx, s)
		mu.Lock()
		conns[i], tokens[s.top.Name] = conn, token
		mu.Unlock()
		return err
	}); err != nil {
		return err
	}
	kubeconfig, err := w.tokenKubeconfig(tokens)
	if err != nil {
		return err
	}
	if err := w.eachSite(func(i int, s *site) error {
		return w.installDaemon(ctx, s, conns[i], kubeconfig, helm, chart, tag, fleetFile)
	}); err != nil {
		return err
	}
	return w.daemons.WaitHealthy(ctx, 4*time.Minute)
}

// eachSite runs fn for every site at once.
func (w *World) eachSite(fn func(i int, s *site) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(w.cfg.Sites))
	for i, s := range w.cfg.Indexed() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i, w.sites[s.Name])
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// daemonAccount is the release's service account (the chart's full name of release
// hadron), made before the release with Helm's ownership marks so that helm install
// adopts it: its token must exist before the daemons' pods, which mount the
// kubeconfig holding it.
func daemonAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: daemonRelease, Namespace: DaemonNamespace,
		Labels:      map[string]string{"app.kubernetes.io/managed-by": "Helm"},
		Annotations: map[string]string{"meta.helm.sh/release-name": daemonRelease, "meta.helm.sh/release-namespace": DaemonNamespace},
	}}
}

// prepareDaemon connects to s's cluster, makes the namespace and the release's service
// account, and returns a token of that account for the other sites' daemons.
func (w *World) prepareDaemon(ctx context.Context, s *site) (*siteconn.Conn, string, error) {
	name := s.top.Name
	cfg, err := clientcmd.BuildConfigFromFlags("", siteKubeconfig(w.opts.Dir.Site(name)))
	if err != nil {
		return nil, "", fmt.Errorf("site %s: %w", name, err)
	}
	conn, err := siteconn.ConnectConfig(name, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("site %s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := ensureNamespace(ctx, conn.Kube, DaemonNamespace); err != nil {
		return nil, "", fmt.Errorf("site %s: %w", name, err)
	}
	sa := daemonAccount()
	if _, err := conn.Kube.CoreV1().ServiceAccounts(DaemonNamespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, "", fmt.Errorf("site %s: service account: %w", name, err)
	}
	// A day: longer than any lab; the lab's API servers set no shorter maximum.
	exp := int64(24 * 3600)
	tr, err := conn.Kube.CoreV1().ServiceAccounts(DaemonNamespace).CreateToken(ctx, sa.Name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("site %s: token of the service account: %w", name, err)
	}
	return conn, tr.Status.Token, nil
}

// tokenKubeconfig is the lab's kubeconfig with each site's user replaced by its
// daemon's service-account token: what the daemons' pods use for every site.
func (w *World) tokenKubeconfig(tokens map[string]string) ([]byte, error) {
	cfg, err := clientcmd.LoadFromFile(w.opts.Dir.Kubeconfig())
	if err != nil {
		return nil, fmt.Errorf("daemonPods: kubeconfig: %w", err)
	}
	for site, token := range tokens {
		ctxName := topology.KubeContext(site)
		c, ok := cfg.Contexts[ctxName]
		if !ok {
			return nil, fmt.Errorf("daemonPods: the lab's kubeconfig has no context %s", ctxName)
		}
		user := ctxName + "-daemon"
		cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
		c.AuthInfo = user
	}
	// No admin credentials in the pods.
	for name := range cfg.AuthInfos {
		if !strings.HasSuffix(name, "-daemon") {
			delete(cfg.AuthInfos, name)
		}
	}
	return clientcmd.Write(*cfg)
}

// installDaemon installs s's release. Every step is idempotent: a second lab up on the
// same directory upgrades the release and re-applies the objects.
func (w *World) installDaemon(ctx context.Context, s *site, conn *siteconn.Conn, kubeconfig []byte, helm, chart, tag, fleetFile string) error {
	name := s.top.Name
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	pki := map[string][]byte{}
	bundle := w.daemons.SiteBundle(name)
	entries, err := os.ReadDir(bundle)
	if err != nil {
		return fmt.Errorf("site %s: PKI: %w", name, err)
	}
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(bundle, e.Name())); err == nil && e.Type().IsRegular() {
			pki[e.Name()] = b
		}
	}
	files := map[string][]byte{filepath.Base(podPaths(w.opts.Dir).Kubeconfig): kubeconfig}
	for key, path := range w.labFiles() {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("site %s: lab files: %w", name, err)
		}
		files[key] = b
	}
	for sec, data := range map[string]map[string][]byte{"hadron-pki-" + name: pki, labFilesSecret: files} {
		if err := applySecret(ctx, conn.Kube, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: sec, Namespace: DaemonNamespace}, Data: data}); err != nil {
			return fmt.Errorf("site %s: %w", name, err)
		}
	}
	// The CRDs before the fleet (helm installs the chart's crds/ only with the release,
	// and the daemon reads the fleet as it starts), then the fleet, retried while the
	// API server starts serving the new kinds.
	crds, err := siteconn.ReadManifests(filepath.Join(chart, "crds"))
	if err != nil {
		return fmt.Errorf("site %s: %w", name, err)
	}
	if _, err := conn.Apply(ctx, crds); err != nil {
		return err
	}
	objs, err := siteconn.ReadManifests(fleetFile)
	if err != nil {
		return fmt.Errorf("site %s: %w", name, err)
	}
	for {
		_, err = conn.Apply(ctx, objs)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("site %s: the fleet's objects: %w", name, err)
		case <-time.After(time.Second):
		}
	}
	values, err := yaml.Marshal(daemonValues(s.top, tag))
	if err != nil {
		return err
	}
	valuesFile := filepath.Join(w.opts.Dir.Site(name), "hadron-values.yaml")
	if err := os.WriteFile(valuesFile, values, 0o644); err != nil {
		return fmt.Errorf("site %s: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, helm, "upgrade", "--install", daemonRelease, chart,
		"--namespace", DaemonNamespace, "--kubeconfig", siteKubeconfig(w.opts.Dir.Site(name)), "-f", valuesFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("site %s: helm upgrade --install: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	w.event("site %s: hadron installed by its chart (release %s in %s, image %s:%s)", name, daemonRelease, DaemonNamespace, realnode.HadronRepository, tag)
	return nil
}

func ensureNamespace(ctx context.Context, c kubernetes.Interface, ns string) error {
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	return nil
}

// applySecret creates sec or replaces its data.
func applySecret(ctx context.Context, c kubernetes.Interface, sec *corev1.Secret) error {
	_, err := c.CoreV1().Secrets(sec.Namespace).Create(ctx, sec, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := c.CoreV1().Secrets(sec.Namespace).Get(ctx, sec.Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("secret %s/%s: %w", sec.Namespace, sec.Name, gerr)
		}
		cur.Data = sec.Data
		_, err = c.CoreV1().Secrets(sec.Namespace).Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("secret %s/%s: %w", sec.Namespace, sec.Name, err)
	}
	return nil
}
