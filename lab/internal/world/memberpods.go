package world

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"hadron.dev/hadron/internal/data/memberpods"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/pki"
	"hadron.dev/hadron/lab/internal/realnode"
	"hadron.dev/hadron/lab/internal/topology"
)

// MemberPodsConfig is the ConfigMap, in the demo's namespace of the members' site,
// that hadron writes for the members in pods: the fleet file ("fleet.yaml"), the
// member it named primary ("primary") and rebuild requests ("rebuild.<member>"). Each
// pod reads it at its start (`hadron data member-start`).
var MemberPodsConfig = memberpods.ConfigMap(topology.DemoMirrorSet)

// memberContainer is the name of the PostgreSQL container in a member's pod.
const memberContainer = "postgres"

// memberPodPort is the port of PostgreSQL inside a member's pod.
const memberPodPort = 5432

// memberSecretDir is where a member's pod mounts its Secret: the lab's CA, the
// member's certificate and key, the set's password and, with backups, the
// repository's S3 keys and cipher passphrase (the files topology.ObjectStoreDir names).
const memberSecretDir = "/etc/hadron/tls"

// memberPodsCIDR is the pod network of every site: the members' pg_hba.conf lets it in
// (the gateway's forwarders reach a pod from the bridge's address).
const memberPodsCIDR = "10.244.0.0/16"

// memberPods runs the mirror set's members that live in pods (lab.yaml memberPods),
// one StatefulSet of one replica each with a local volume, in its own site. Its
// driver's side (postgres.MemberPods: the ConfigMap of instructions, restarting a pod)
// is the daemons' own memberpods.Pods, so the lab's monitor and the daemons ask the
// pods alike.
type memberPods struct {
	*memberpods.Pods
	clients map[string]kubernetes.Interface // by site
	siteOf  map[string]string               // member → site
}

// pod reads member's pod from its site's cluster.
func (p *memberPods) pod(ctx context.Context, member string) (*corev1.Pod, error) {
	c, ok := p.clients[p.siteOf[member]]
	if !ok {
		return nil, fmt.Errorf("member %s is not in a pod", member)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.CoreV1().Pods(topology.DemoNamespace).Get(ctx, MemberPod(member), metav1.GetOptions{})
}

var _ postgres.MemberPods = (*memberPods)(nil)

// MemberStatefulSet is the StatefulSet of member; its one pod is MemberPod(member).
func MemberStatefulSet(member string) string {
	return memberpods.StatefulSet(topology.DemoMirrorSet, member)
}

// MemberPod is the pod of member's StatefulSet.
func MemberPod(member string) string { return memberpods.Pod(topology.DemoMirrorSet, member) }

// podAddr is where member's pod serves PostgreSQL now (its IP changes with every pod).
func (p *memberPods) podAddr(ctx context.Context, member string) (string, error) {
	pod, err := p.pod(ctx, member)
	if err != nil {
		return "", err
	}
	if pod.Status.PodIP == "" || pod.DeletionTimestamp != nil {
		return "", fmt.Errorf("pod %s has no address", pod.Name)
	}
	return net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(memberPodPort)), nil
}

// running says whether member's pod is ready.
func (p *memberPods) running(ctx context.Context, member string) bool {
	pod, err := p.pod(ctx, member)
	if err != nil {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// startMemberPods writes, into every site with members in pods, the members'
// ConfigMap (naming the configured primary unless a primary is named already), their
// Secrets (the password, the lab's CA, each member's certificate) and their
// StatefulSets.
func (w *World) startMemberPods(ctx context.Context) error {
	mp := &memberPods{clients: map[string]kubernetes.Interface{}, siteOf: map[string]string{}}
	var bySite = map[string][]topology.Member{}
	primary := ""
	for _, m := range w.cfg.Members() {
		if m.Role == "primary" {
			primary = m.Name
		}
		if m.Pod {
			bySite[m.Site] = append(bySite[m.Site], m)
			mp.clients[m.Site] = w.sites[m.Site].client
			mp.siteOf[m.Name] = m.Site
		}
	}
	if len(bySite) == 0 {
		return nil
	}
	mp.Pods = &memberpods.Pods{Set: &w.db.set, Log: w.log.With("component", "member-pods"),
		Kube: func(site string) (kubernetes.Interface, error) {
			if c, ok := mp.clients[site]; ok {
				return c, nil
			}
			return nil, fmt.Errorf("no members in pods at site %s", site)
		}}
	if err := w.db.issueCertificates(); err != nil {
		return err
	}
	pw, err := w.db.password()
	if err != nil {
		return err
	}
	// The pods' fleet names the files of their Secret (memberSecretDir) for the
	// repository's CA, keys and passphrase, where the host's names the lab's files.
	pp := w.paths()
	pp.CACert = filepath.Join(memberSecretDir, "ca.crt")
	pp.ObjectStoreDir = memberSecretDir
	fleetYAML, err := w.cfg.FleetYAML(pp)
	if err != nil {
		return err
	}
	backup := map[string][]byte{}
	if w.cfg.BackupsEnabled() {
		for _, f := range topology.ObjectStoreSecretFiles {
			b, err := os.ReadFile(filepath.Join(w.paths().ObjectStoreDir, f))
			if err != nil {
				return fmt.Errorf("member pods: %w", err)
			}
			backup[f] = b
		}
	}
	ca, err := os.ReadFile(filepath.Join(w.opts.Dir.CA(), pki.CACert))
	if err != nil {
		return fmt.Errorf("member pods: %w", err)
	}
	for _, s := range w.cfg.Indexed() {
		if members := bySite[s.Name]; len(members) > 0 {
			if err := w.startSiteMemberPods(ctx, w.sites[s.Name], members, primary, fleetYAML, ca, pw, backup); err != nil {
				return fmt.Errorf("site %s: member pods: %w", s.Name, err)
			}
		}
	}
	w.db.pods = mp
	return nil
}

// startSiteMemberPods writes one site's part of startMemberPods.
func (w *World) startSiteMemberPods(ctx context.Context, s *site, members []topology.Member, primary string, fleetYAML, ca []byte, pw string, backup map[string][]byte) error {
	ns := topology.DemoNamespace
	labels := map[string]string{"app.kubernetes.io/managed-by": "hadron-lab"}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: MemberPodsConfig, Namespace: ns, Labels: labels},
		Data: map[string]string{"fleet.yaml": string(fleetYAML), "primary": primary}}
	if err := applyPodConfig(ctx, s.client, ns, nil, nil); err != nil {
		return err
	}
	if old, err := s.client.CoreV1().ConfigMaps(ns).Get(ctx, MemberPodsConfig, metav1.GetOptions{}); err == nil {
		// A lab started again keeps what hadron decided since.
		for k, v := range old.Data {
			if k != "fleet.yaml" {
				cm.Data[k] = v
			}
		}
	}
	for _, m := range members {
		crt, key := topology.MemberCert(w.opts.Dir.PostgresCerts(), m.Name)
		cb, err := os.ReadFile(crt)
		if err != nil {
			return err
		}
		kb, err := os.ReadFile(key)
		if err != nil {
			return err
		}
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: MemberStatefulSet(m.Name), Namespace: ns, Labels: labels},
			Data: map[string][]byte{"ca.crt": ca, "tls.crt": cb, "tls.key": kb, "password": []byte(pw)}}
		for f, b := range backup {
			sec.Data[f] = b
		}
		if err := applyPodConfig(ctx, s.client, ns, nil, sec); err != nil {
			return err
		}
	}
	if err := applyPodConfig(ctx, s.client, ns, cm, nil); err != nil {
		return err
	}
	for _, m := range members {
		sts := memberStatefulSet(m)
		if _, err := s.client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("statefulset %s: %w", sts.Name, err)
		}
	}
	return nil
}

// memberStatefulSet is member m's StatefulSet: one pod on the real node of m's zone,
// its data on a local volume of that node, started by `hadron data member-start`.
func memberStatefulSet(m topology.Member) *appsv1.StatefulSet {
	one := int32(1)
	uid := int64(realnode.PostgresUID)
	nonRoot, noToken := true, false
	grace := int64(10)
	// Not part-of the application: its selector would have the daemons replicate the
	// members' StatefulSets to the stand-by sites.
	labels := map[string]string{"app.kubernetes.io/name": "shop-db", "hadron.dev/member": m.Name}
	readable := int32(0o444) // no fsGroup on these volumes: the server's user reads them as "other"
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: MemberStatefulSet(m.Name), Namespace: topology.DemoNamespace, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: MemberStatefulSet(m.Name),
			Replicas:    &one,
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"hadron.dev/member": m.Name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector:                  map[string]string{realnode.LabelKind: realnode.KindReal, corev1.LabelTopologyZone: m.Zone},
					AutomountServiceAccountToken:  &noToken,
					EnableServiceLinks:            new(bool),
					TerminationGracePeriodSeconds: &grace,
					SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: &nonRoot, RunAsUser: &uid, RunAsGroup: &uid},
					Containers: []corev1.Container{{
						Name:            memberContainer,
						Image:           realnode.PostgresImage,
						ImagePullPolicy: corev1.PullNever,
						Command: []string{realnode.HadronInImage, "data", "member-start", topology.DemoMirrorSet, m.Name,
							"--file", "/etc/hadron/instructions/fleet.yaml", "--password-file", filepath.Join(memberSecretDir, "password"),
							"--tls-dir", memberSecretDir, "--allow-cidr", memberPodsCIDR},
						Ports: []corev1.ContainerPort{{Name: "pg", ContainerPort: memberPodPort}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("pg")}},
							PeriodSeconds: 1},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "data", MountPath: "/var/lib/postgresql/data"},
							{Name: "instructions", MountPath: "/etc/hadron/instructions", ReadOnly: true},
							{Name: "tls", MountPath: memberSecretDir, ReadOnly: true},
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "instructions", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: MemberPodsConfig}, DefaultMode: &readable}}},
						{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName: MemberStatefulSet(m.Name), DefaultMode: &readable}}},
					},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: strPtr(StorageClassLocal),
					Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
}

func strPtr(s string) *string { return &s }
