package replicate

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"hadron.dev/hadron/internal/objects"
)

// maxDiffs bounds a drift report: enough to see what changed, short enough to read.
const maxDiffs = 8

// Drift compares what hadron wants on a site with what the site holds. The desired
// object must be contained in the current one: every field hadron sets must hold the
// same value; fields the site's API server or controllers add (defaults, status) are
// not drift. The source version annotations are ignored: they change with every
// status update of the source and are not content. Secret values are never shown.
func Drift(desired, current *unstructured.Unstructured) []string {
	d := desired.DeepCopy()
	ann := d.GetAnnotations()
	delete(ann, objects.AnnotationSourceGeneration)
	delete(ann, objects.AnnotationSourceResourceVersion)
	d.SetAnnotations(ann)
	w := &differ{redact: isKind(desired, "", "Secret")}
	w.walk("", d.Object, current.Object)
	return w.out
}

type differ struct {
	redact bool
	out    []string
	more   int
}

func (w *differ) add(path, format string, args ...any) {
	if len(w.out) >= maxDiffs {
		w.more++
		if w.more == 1 {
			w.out = append(w.out, "…")
		}
		return
	}
	w.out = append(w.out, strings.TrimPrefix(path, ".")+": "+fmt.Sprintf(format, args...))
}

func (w *differ) walk(path string, want, have any) {
	switch x := want.(type) {
	case map[string]any:
		m, ok := have.(map[string]any)
		if !ok {
			w.add(path, "is %s, want an object", kindOf(have))
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			h, ok := m[k]
			if !ok {
				if isEmpty(x[k]) {
					continue
				}
				w.add(path+"."+k, "missing, want %s", w.show(x[k]))
				continue
			}
			w.walk(path+"."+k, x[k], h)
		}
	case []any:
		l, ok := have.([]any)
		if !ok {
			w.add(path, "is %s, want a list", kindOf(have))
			return
		}
		if len(l) != len(x) {
			w.add(path, "has %d items, want %d", len(l), len(x))
			return
		}
		for i := range x {
			w.walk(fmt.Sprintf("%s[%d]", path, i), x[i], l[i])
		}
	default:
		if !scalarEqual(want, have) {
			w.add(path, "%s, want %s", w.show(have), w.show(want))
		}
	}
}

func (w *differ) show(v any) string {
	if w.redact {
		return "(secret value)"
	}
	s := fmt.Sprint(v)
	if _, ok := v.(string); ok {
		s = fmt.Sprintf("%q", v)
	}
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// isEmpty is a value the API server drops on write (an empty map or list, null), so
// its absence on the site is not drift.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// scalarEqual compares JSON scalars, treating the integer and float forms of a
// number as equal (objects decoded by different paths differ there).
func scalarEqual(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
