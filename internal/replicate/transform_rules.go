package replicate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"hadron.dev/hadron/api/v1alpha1"
)

// Rule is a compiled fleet replication rule: a match and the patches to apply.
type Rule struct {
	// Index is the rule's position in the fleet, for error messages.
	Index  int
	sites  []string
	kinds  []schema.GroupKind
	name   *regexp.Regexp
	labels map[string]string
	json   jsonpatch.Patch
	merge  []byte
}

// CompileRules checks and compiles an application's rules; errors name the rule.
func CompileRules(r *v1alpha1.ObjectReplication) ([]Rule, error) {
	if r == nil {
		return nil, nil
	}
	var out []Rule
	for i, spec := range r.Rules {
		rule := Rule{Index: i, sites: spec.Sites, labels: spec.Labels}
		for _, k := range spec.Kinds {
			gk, err := ParseGroupKind(k)
			if err != nil {
				return nil, fmt.Errorf("%w: rules[%d].kinds: %w", ErrBadRule, i, err)
			}
			rule.kinds = append(rule.kinds, gk)
		}
		if spec.Name != "" {
			re, err := regexp.Compile("^(?:" + spec.Name + ")$")
			if err != nil {
				return nil, fmt.Errorf("%w: rules[%d].name: %w", ErrBadRule, i, err)
			}
			rule.name = re
		}
		if len(spec.JSONPatch) > 0 {
			b, err := json.Marshal(spec.JSONPatch)
			if err != nil {
				return nil, fmt.Errorf("%w: rules[%d].jsonPatch: %w", ErrBadRule, i, err)
			}
			if rule.json, err = jsonpatch.DecodePatch(b); err != nil {
				return nil, fmt.Errorf("%w: rules[%d].jsonPatch: %w", ErrBadRule, i, err)
			}
		}
		if len(spec.MergePatch) > 0 {
			var m map[string]any
			if err := json.Unmarshal(spec.MergePatch, &m); err != nil {
				return nil, fmt.Errorf("%w: rules[%d].mergePatch must be an object: %w", ErrBadRule, i, err)
			}
			rule.merge = spec.MergePatch
		}
		if rule.json == nil && rule.merge == nil {
			return nil, fmt.Errorf("%w: rules[%d] has neither jsonPatch nor mergePatch", ErrBadRule, i)
		}
		out = append(out, rule)
	}
	return out, nil
}

// AppliesTo says whether the rule is for site.
func (r Rule) AppliesTo(site string) bool {
	return len(r.sites) == 0 || slices.Contains(r.sites, site)
}

// Matches says whether the rule selects o.
func (r Rule) Matches(o *unstructured.Unstructured) bool {
	if len(r.kinds) > 0 && !slices.Contains(r.kinds, o.GroupVersionKind().GroupKind()) {
		return false
	}
	if r.name != nil && !r.name.MatchString(o.GetName()) {
		return false
	}
	labels := o.GetLabels()
	for k, v := range r.labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Apply patches o in place when the rule matches. A patch that does not apply (a
// path that is not there, a failed test operation) returns ErrPatch and leaves o as
// it was.
func (r Rule) Apply(o *unstructured.Unstructured) error {
	if !r.Matches(o) {
		return nil
	}
	doc, err := o.MarshalJSON()
	if err != nil {
		return fmt.Errorf("rule %d: %w", r.Index, err)
	}
	if r.json != nil {
		opts := jsonpatch.NewApplyOptions()
		opts.EnsurePathExistsOnAdd = true
		if doc, err = r.json.ApplyWithOptions(doc, opts); err != nil {
			return fmt.Errorf("rule %d: json patch: %w: %w", r.Index, ErrPatch, err)
		}
	}
	if r.merge != nil {
		if doc, err = jsonpatch.MergePatch(doc, r.merge); err != nil {
			return fmt.Errorf("rule %d: merge patch: %w: %w", r.Index, ErrPatch, err)
		}
	}
	var out map[string]any
	if err := json.Unmarshal(doc, &out); err != nil {
		return fmt.Errorf("rule %d: %w", r.Index, err)
	}
	patched := &unstructured.Unstructured{Object: out}
	if patched.GetName() != o.GetName() || patched.GetNamespace() != o.GetNamespace() || patched.GetKind() != o.GetKind() {
		return fmt.Errorf("rule %d: %w: a rule may not change an object's kind, namespace or name", r.Index, ErrPatch)
	}
	o.Object = normalizeNumbers(out).(map[string]any)
	return nil
}

// normalizeNumbers turns JSON float64 integers back into int64, the way the API
// machinery decodes objects, so patched objects compare equal to unpatched ones.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
		return x
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
		return x
	}
	return v
}
