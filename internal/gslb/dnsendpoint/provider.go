package dnsendpoint

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/miekg/dns"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"hadron.dev/hadron/internal/gslb/recordplan"
)

// GVR is the external-dns DNSEndpoint resource.
var GVR = schema.GroupVersionResource{Group: "externaldns.k8s.io", Version: "v1alpha1", Resource: "dnsendpoints"}

// Labels hadron puts on its DNSEndpoints.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelOwner     = "hadron.dev/owner"
	// AnnotationFence is the leader token that last wrote the object.
	AnnotationFence = "hadron.dev/fence"
)

// Provider reads and writes DNSEndpoints in one namespace of one site.
type Provider struct {
	Client    dynamic.Interface
	Namespace string
}

// Objects lists the namespace's DNSEndpoints.
func (p *Provider) Objects(ctx context.Context) ([]Object, error) {
	list, err := p.Client.Resource(GVR).Namespace(p.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list dnsendpoints in %s: %w", p.Namespace, err)
	}
	out := make([]Object, 0, len(list.Items))
	for _, u := range list.Items {
		o, err := fromUnstructured(&u)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Apply carries out plan. Updates and deletes carry the resource version the plan was
// made from, so an object changed since (even relabelled to another owner) is not
// overwritten: the API server answers Conflict and Apply stops.
func (p *Provider) Apply(ctx context.Context, plan Plan) error {
	return p.ApplyFenced(ctx, plan, 0, 0)
}

// ApplyFenced is Apply for a leader holding token mine, where held is the owner's
// highest fence among the objects the plan was made from (Held). A lower token than
// held is refused before anything is written (recordplan.ErrStale); every object
// written carries mine, and the resource versions refuse a write racing a newer
// leader's. Zero mine writes no fence.
func (p *Provider) ApplyFenced(ctx context.Context, plan Plan, held, mine int64) error {
	if held > mine {
		return fmt.Errorf("owner %s in namespace %s: fence %d, this leader's token %d: %w", plan.Owner, p.Namespace, held, mine, recordplan.ErrStale)
	}
	res := p.Client.Resource(GVR).Namespace(p.Namespace)
	for _, c := range plan.Changes {
		fence := mine
		if c.Fence != 0 {
			fence = c.Fence
		}
		var err error
		switch c.Action {
		case recordplan.Create:
			_, err = res.Create(ctx, toUnstructured(p.Namespace, c.Name, plan.Owner, c.Endpoints, "", fence), metav1.CreateOptions{FieldManager: "hadron"})
		case recordplan.Update:
			_, err = res.Update(ctx, toUnstructured(p.Namespace, c.Name, plan.Owner, c.Endpoints, c.ResourceVersion, fence), metav1.UpdateOptions{FieldManager: "hadron"})
		case recordplan.Delete:
			rv := c.ResourceVersion
			err = res.Delete(ctx, c.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
		}
		if err != nil {
			return fmt.Errorf("%s dnsendpoint %s/%s: %w", c.Action, p.Namespace, c.Name, err)
		}
	}
	return nil
}

// Scrub takes the names drop reports out of owner's objects (ScrubPlan) and returns
// the plan it applied (none with dryRun). An object changed between the read and the
// write (the leader writing it) is read again, a few times: the scrub must hold for
// what the namespace holds when it returns.
func (p *Provider) Scrub(ctx context.Context, owner string, drop func(name string) bool, dryRun bool) (Plan, error) {
	for attempt := 1; ; attempt++ {
		cur, err := p.Objects(ctx)
		if err != nil {
			return Plan{}, err
		}
		plan := ScrubPlan(owner, p.Namespace, cur, drop)
		if dryRun || plan.Empty() {
			return plan, nil
		}
		err = p.Apply(ctx, plan)
		if err == nil || !apierrors.IsConflict(err) || attempt == 3 {
			return plan, err
		}
	}
}

func toUnstructured(ns, name, owner string, recs []recordplan.Record, rv string, fence int64) *unstructured.Unstructured {
	eps := make([]any, 0, len(recs))
	for _, r := range recs {
		targets := make([]any, 0, len(r.Targets))
		for _, t := range r.Targets {
			targets = append(targets, strings.TrimSuffix(t, "."))
		}
		ep := map[string]any{
			"dnsName":    strings.TrimSuffix(r.Name, "."),
			"recordType": r.Type,
			"recordTTL":  int64(r.TTL),
			"targets":    targets,
		}
		if r.SetID != "" {
			ep["setIdentifier"] = r.SetID
			ep["providerSpecific"] = []any{map[string]any{"name": "aws/weight", "value": strconv.Itoa(int(r.Weight))}}
		}
		eps = append(eps, ep)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": GVR.GroupVersion().String(),
		"kind":       "DNSEndpoint",
		"metadata": map[string]any{
			"name":      name,
			"namespace": ns,
			"labels":    map[string]any{LabelManagedBy: "hadron", LabelOwner: owner},
		},
		"spec": map[string]any{"endpoints": eps},
	}}
	if rv != "" {
		u.SetResourceVersion(rv)
	}
	if fence != 0 {
		u.SetAnnotations(map[string]string{AnnotationFence: strconv.FormatInt(fence, 10)})
	}
	return u
}

func fromUnstructured(u *unstructured.Unstructured) (Object, error) {
	o := Object{Name: u.GetName(), ResourceVersion: u.GetResourceVersion()}
	if u.GetLabels()[LabelManagedBy] == "hadron" {
		o.Owner = u.GetLabels()[LabelOwner]
		o.Fence, _ = strconv.ParseInt(u.GetAnnotations()[AnnotationFence], 10, 64)
	}
	eps, _, err := unstructured.NestedSlice(u.Object, "spec", "endpoints")
	if err != nil {
		return o, fmt.Errorf("dnsendpoint %s: spec.endpoints: %w", u.GetName(), err)
	}
	for _, e := range eps {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		r := recordplan.Record{}
		r.Name, _, _ = unstructured.NestedString(m, "dnsName")
		r.Name = strings.ToLower(dns.Fqdn(r.Name))
		r.Type, _, _ = unstructured.NestedString(m, "recordType")
		ttl, _, _ := unstructured.NestedInt64(m, "recordTTL")
		r.TTL = uint32(ttl)
		r.SetID, _, _ = unstructured.NestedString(m, "setIdentifier")
		if r.SetID != "" {
			ps, _, _ := unstructured.NestedSlice(m, "providerSpecific")
			for _, x := range ps {
				if kv, ok := x.(map[string]any); ok && kv["name"] == "aws/weight" {
					w, _ := strconv.Atoi(fmt.Sprint(kv["value"]))
					r.Weight = int32(w)
				}
			}
		}
		ts, _, _ := unstructured.NestedStringSlice(m, "targets")
		for _, t := range ts {
			if r.Type == "CNAME" {
				t = strings.ToLower(dns.Fqdn(t))
			}
			r.Targets = append(r.Targets, t)
		}
		sort.Strings(r.Targets)
		o.Endpoints = append(o.Endpoints, r)
	}
	return o, nil
}
