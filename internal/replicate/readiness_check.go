package replicate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/site"
)

// DefaultCertificateWindow is how close to expiry a certificate fails readiness.
const DefaultCertificateWindow = 30 * 24 * time.Hour

// Readiness is the result of `hadron check readiness`.
type Readiness struct {
	Findings []Finding `json:"findings"`
	Parity   []Parity  `json:"parity"`
}

// OK says whether no finding failed.
func (r Readiness) OK() bool {
	for _, f := range r.Findings {
		if f.Level == LevelFail {
			return false
		}
	}
	return true
}

// CheckReadiness says whether every stand-by could take over: parity, capacity,
// images and pull secrets, kinds served, and certificate coverage of the policy's TLS
// secrets for the main name and every site's name.
func CheckReadiness(ctx context.Context, app *v1alpha1.Application, active *site.Conn, standbys []*site.Conn, now time.Time, log *slog.Logger) (*Readiness, error) {
	snap, err := Take(ctx, app, active, standbys, log)
	if err != nil {
		return nil, err
	}
	r := &Readiness{Parity: ParityOf(snap.Changes)}
	ws := Workloads(snap.Source)
	var capacity []string
	for _, c := range app.Spec.Policy.Capacity {
		capacity = append(capacity, c.Kind+"/"+c.Namespace+"/"+c.Name)
	}
	for _, sb := range standbys {
		r.Findings = append(r.Findings, ParityFinding(sb.Name, r.Parity))
		var missing []string
		for _, gk := range snap.MissingKinds[sb.Name] {
			missing = append(missing, gk.String())
		}
		r.Findings = append(r.Findings, CRDFindings(sb.Name, missing)...)

		lctx, cancel := context.WithTimeout(ctx, listTimeout)
		nodes, err := sb.Kube.CoreV1().Nodes().List(lctx, metav1.ListOptions{})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("site %s: list nodes: %w", sb.Name, err)
		}
		r.Findings = append(r.Findings, CapacityFinding(sb.Name, ws, Allocatable(nodes.Items), capacity))

		lctx, cancel = context.WithTimeout(ctx, listTimeout)
		secrets, err := sb.Kube.CoreV1().Secrets(app.Spec.Namespace).List(lctx, metav1.ListOptions{})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("site %s: list secrets: %w", sb.Name, err)
		}
		have := map[string]bool{}
		for _, s := range secrets.Items {
			have[s.Name] = true // names only: contents are not read here
		}
		r.Findings = append(r.Findings, ImageFindings(sb.Name, ws, have)...)
	}
	certs, err := certificateFindings(ctx, app, active, standbys, now)
	if err != nil {
		return nil, err
	}
	r.Findings = append(r.Findings, certs...)
	return r, nil
}

func certificateFindings(ctx context.Context, app *v1alpha1.Application, active *site.Conn, standbys []*site.Conn, now time.Time) ([]Finding, error) {
	rep := app.Spec.Replication
	if rep == nil || app.Spec.DNS == nil {
		return nil, nil
	}
	window := DefaultCertificateWindow
	if rep.CertificateWindow != nil {
		window = rep.CertificateWindow.Duration
	}
	names := []string{app.Spec.DNS.Name, SiteName(app.Spec.DNS, active.Name)}
	for _, sb := range standbys {
		names = append(names, SiteName(app.Spec.DNS, sb.Name))
	}
	var out []Finding
	for _, name := range rep.Secrets {
		gctx, cancel := context.WithTimeout(ctx, listTimeout)
		s, err := active.Kube.CoreV1().Secrets(app.Spec.Namespace).Get(gctx, name, metav1.GetOptions{})
		cancel()
		if err != nil {
			out = append(out, Finding{Check: "certificate", Site: active.Name, Level: LevelFail,
				Message: fmt.Sprintf("secret %s named in spec.replication.secrets: %v", name, err),
				Action:  "create the secret on " + active.Name + " or remove it from the policy"})
			continue
		}
		if s.Type != corev1.SecretTypeTLS {
			continue
		}
		out = append(out, CertificateFindings(active.Name, name, s.Data[corev1.TLSCertKey], names, now, window)...)
	}
	return out, nil
}
