package fleetsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"hadron.dev/hadron/internal/fleetsource"
	"hadron.dev/hadron/internal/site"
)

// Syncer keeps one site's cluster and the published fleet the same. Its state (the
// fleet it last agreed with) outlives the daemons that hadron serve restarts, so it
// is made once and given each daemon's etcd client.
type Syncer struct {
	Conn *site.Conn
	Site string
	// Current is the fleet the cluster holds now, as its watcher last read it valid.
	Current func() fleetsource.Snapshot
	Log     *slog.Logger
	// Interval is how often the published fleet is read again besides its watch, so
	// that a failed write is retried (30 s when zero).
	Interval time.Duration

	mu     sync.Mutex
	agreed string
}

// Run steps at once, then on every change of the published fleet and every Interval,
// with client c, until ctx ends.
func (s *Syncer) Run(ctx context.Context, c *clientv3.Client) {
	every := s.Interval
	if every <= 0 {
		every = 10 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	wch := c.Watch(clientv3.WithRequireLeader(ctx), Key)
	for {
		if err := s.Step(ctx, c); err != nil && ctx.Err() == nil {
			s.log().Warn("keeping the fleet the same in every site", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if wch == nil {
				wch = c.Watch(clientv3.WithRequireLeader(ctx), Key)
			}
		case _, ok := <-wch:
			if !ok {
				wch = nil // no majority: watch again at the next tick
			}
		}
	}
}

// Step reads the published fleet and publishes the cluster's or adopts the published
// one, as Decide says. The cluster's watcher calls it (through hadron serve) when the
// cluster's fleet changed.
func (s *Syncer) Step(ctx context.Context, c *clientv3.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range 3 { // a lost compare-and-swap reads again
		pub, err := read(ctx, c)
		if err != nil {
			return err
		}
		cur := s.Current()
		switch Decide(cur.Hash, s.agreed, pub) {
		case InSync:
			s.agreed = pub.Hash
			return nil
		case Publish:
			if cur.Hash == "" {
				return nil // nothing valid to publish
			}
			var rev int64
			if pub != nil {
				rev = pub.Revision
			}
			won, err := s.publish(ctx, c, cur, rev)
			if err != nil {
				return err
			}
			if !won {
				continue
			}
			s.agreed = cur.Hash
			s.log().Info("published the fleet of this site's cluster to the other sites", "hash", short(cur.Hash))
			return s.mark(ctx, cur)
		case Adopt:
			s.log().Info("writing the fleet published by another site into this cluster", "from", pub.Site, "hash", short(pub.Hash))
			return s.adopt(ctx, pub)
		}
	}
	return errors.New("the published fleet changed three times while deciding")
}

func read(ctx context.Context, c *clientv3.Client) (*Published, error) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, err := c.Get(rctx, Key)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", Key, err)
	}
	if len(r.Kvs) == 0 {
		return nil, nil
	}
	return decode(r.Kvs[0].Value, r.Kvs[0].ModRevision)
}

// publish writes the cluster's fleet if the key is still at rev (0: absent).
func (s *Syncer) publish(ctx context.Context, c *clientv3.Client, cur fleetsource.Snapshot, rev int64) (bool, error) {
	b, err := json.Marshal(Published{Hash: cur.Hash, Site: s.Site, At: time.Now().UTC(), Fleet: string(cur.Canonical)})
	if err != nil {
		return false, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, err := c.Txn(pctx).If(clientv3.Compare(clientv3.ModRevision(Key), "=", rev)).
		Then(clientv3.OpPut(Key, string(b))).Commit()
	if err != nil {
		return false, fmt.Errorf("publishing the fleet: %w", err)
	}
	return r.Succeeded, nil
}

// mark annotates the cluster's objects of the published fleet, so that a later fleet
// without one of them deletes it here too.
func (s *Syncer) mark(ctx context.Context, cur fleetsource.Snapshot) error {
	return s.eachObject(ctx, func(gvr schema.GroupVersionResource, o *unstructured.Unstructured) error {
		if _, ok := cur.Objects[fleetsource.Key(o.GetKind(), o.GetName())]; !ok {
			return nil
		}
		if _, ok := o.GetAnnotations()[fleetsource.SyncedAnnotation]; ok {
			return nil
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{fleetsource.SyncedAnnotation: s.Site}}})
		_, err := s.Conn.Dynamic.Resource(gvr).Patch(ctx, o.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: site.FieldManager})
		return ignoreNotFound(err)
	})
}

// adopt writes the published fleet into the cluster: each object created or its spec,
// labels and annotations replaced (a replace, not a server-side apply, which would
// keep fields another manager set and the published fleet dropped), and every object
// of an earlier published fleet that this one lacks deleted. Objects never published
// are left alone.
func (s *Syncer) adopt(ctx context.Context, pub *Published) error {
	want, err := parse(pub.Fleet)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, o := range want {
		keep[fleetsource.Key(o.GetKind(), o.GetName())] = true
		if err := s.write(ctx, o, pub.Site); err != nil {
			return err
		}
	}
	return s.eachObject(ctx, func(gvr schema.GroupVersionResource, o *unstructured.Unstructured) error {
		if keep[fleetsource.Key(o.GetKind(), o.GetName())] {
			return nil
		}
		if _, ok := o.GetAnnotations()[fleetsource.SyncedAnnotation]; !ok {
			return nil // never published: someone's work in progress here
		}
		s.log().Info("deleting an object the published fleet no longer has", "kind", o.GetKind(), "name", o.GetName())
		return ignoreNotFound(s.Conn.Dynamic.Resource(gvr).Delete(ctx, o.GetName(), metav1.DeleteOptions{}))
	})
}

func (s *Syncer) write(ctx context.Context, o *unstructured.Unstructured, from string) error {
	gvr, err := resourceOf(o.GetKind())
	if err != nil {
		return err
	}
	res := s.Conn.Dynamic.Resource(gvr)
	cur, err := res.Get(ctx, o.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		next := o.DeepCopy()
		next.SetAnnotations(with(o.GetAnnotations(), fleetsource.SyncedAnnotation, from))
		_, err = res.Create(ctx, next, metav1.CreateOptions{FieldManager: site.FieldManager})
		return err
	}
	if err != nil {
		return err
	}
	have, err := fleetsource.Document(cur)
	if err != nil {
		return err
	}
	wantDoc, err := fleetsource.Document(o)
	if err != nil {
		return err
	}
	if _, marked := cur.GetAnnotations()[fleetsource.SyncedAnnotation]; bytes.Equal(have, wantDoc) && marked {
		return nil
	}
	next := cur.DeepCopy()
	next.Object["spec"] = o.Object["spec"]
	next.SetLabels(o.GetLabels())
	ann := maps.Clone(o.GetAnnotations())
	if v, ok := cur.GetAnnotations()[lastApplied]; ok {
		ann = with(ann, lastApplied, v)
	}
	next.SetAnnotations(with(ann, fleetsource.SyncedAnnotation, from))
	_, err = res.Update(ctx, next, metav1.UpdateOptions{FieldManager: site.FieldManager})
	return err
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

func with(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}

func resourceOf(kind string) (schema.GroupVersionResource, error) {
	for _, gvr := range fleetsource.Resources {
		if gvr.Resource == kindResource[kind] {
			return gvr, nil
		}
	}
	return schema.GroupVersionResource{}, fmt.Errorf("published fleet: unknown kind %q", kind)
}

var kindResource = map[string]string{"Site": "sites", "DNSProvider": "dnsproviders", "MirrorSet": "mirrorsets", "Application": "applications"}

// eachObject lists the four resources of the cluster.
func (s *Syncer) eachObject(ctx context.Context, fn func(schema.GroupVersionResource, *unstructured.Unstructured) error) error {
	for i := len(fleetsource.Resources) - 1; i >= 0; i-- { // applications first: deletions go from the users to the used
		gvr := fleetsource.Resources[i]
		list, err := s.Conn.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing %s: %w", gvr.Resource, err)
		}
		for j := range list.Items {
			if err := fn(gvr, &list.Items[j]); err != nil {
				return fmt.Errorf("%s %s: %w", list.Items[j].GetKind(), list.Items[j].GetName(), err)
			}
		}
	}
	return nil
}

// parse reads the published fleet's documents.
func parse(text string) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(text)), 4096)
	var out []*unstructured.Unstructured
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("published fleet: %w", err)
		}
		if len(obj) > 0 {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
}

// short is a hash's first 12 digits, for logs.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (s *Syncer) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
