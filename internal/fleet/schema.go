package fleet

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxNodes bounds the work on one document, counting nodes reached through aliases
// again each time, so that an alias bomb is refused instead of expanded.
const maxNodes = 100000

// walker checks a YAML document against a Go type, field by field, using the json tags
// as the schema. It reports every unknown field and every value of the wrong shape with
// its field path, and returns a plain value (maps, lists, scalars) holding only what
// fits the type, which encoding/json then decodes without surprises.
type walker struct {
	errs  []FieldError
	lines map[string]int // field path → line, for later errors about the same path
	nodes int
}

func newWalker() *walker { return &walker{lines: map[string]int{}} }

// spend counts one more node of work and says whether the budget allows it.
func (w *walker) spend(n *yaml.Node, path string) bool {
	w.nodes++
	if w.nodes == maxNodes+1 {
		w.fail(n, path, "document too large (more than %d values after expanding aliases)", maxNodes)
	}
	return w.nodes <= maxNodes
}

func (w *walker) fail(n *yaml.Node, path, format string, args ...any) {
	w.errs = append(w.errs, FieldError{Line: n.Line, Path: path, Reason: fmt.Sprintf(format, args...)})
}

var (
	durationType    = reflect.TypeFor[metav1.Duration]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// walk returns the plain value of n for type t, and false when n does not fit t (the
// problem is recorded and the field is left out).
func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) (any, bool) {
	if !w.spend(n, path) {
		return nil, false
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			w.fail(n, path, "alias to an unknown anchor")
			return nil, false
		}
		return w.walk(n.Alias, t, path)
	}
	if path != "" {
		if _, ok := w.lines[path]; !ok {
			w.lines[path] = n.Line
		}
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return w.duration(n, path)
	case reflect.PointerTo(t).Implements(unmarshalerType):
		return w.custom(n, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		return w.object(n, t, path)
	case reflect.Slice:
		return w.list(n, t, path)
	case reflect.Map:
		return w.dict(n, t, path)
	case reflect.Interface: // free-form values: anything JSON can hold
		return w.custom(n, t, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			w.fail(n, path, "expected a string, got %s", describe(n))
			return nil, false
		}
		return n.Value, true
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			w.fail(n, path, "expected true or false, got %s", describe(n))
			return nil, false
		}
		return b, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			w.fail(n, path, "expected an integer, got %s", describe(n))
			return nil, false
		}
		if reflect.Zero(t).OverflowInt(i) {
			w.fail(n, path, "%d is out of range for a %d-bit integer", i, t.Bits())
			return nil, false
		}
		return i, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&u) != nil {
			w.fail(n, path, "expected a non-negative integer, got %s", describe(n))
			return nil, false
		}
		if reflect.Zero(t).OverflowUint(u) {
			w.fail(n, path, "%d is out of range for a %d-bit integer", u, t.Bits())
			return nil, false
		}
		return u, true
	case reflect.Float32, reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || n.Decode(&f) != nil {
			w.fail(n, path, "expected a number, got %s", describe(n))
			return nil, false
		}
		return f, true
	}
	w.fail(n, path, "field of Go type %s cannot be read from YAML", t)
	return nil, false
}

func (w *walker) duration(n *yaml.Node, path string) (any, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if _, err := time.ParseDuration(n.Value); err == nil {
			return n.Value, true
		}
	}
	w.fail(n, path, "expected a duration such as \"1s\" or \"500ms\", got %s", describe(n))
	return nil, false
}

// custom handles types that decode themselves (metav1.Time, FieldsV1): the value is
// tried on a fresh instance so that a bad one is reported with its path.
func (w *walker) custom(n *yaml.Node, t reflect.Type, path string) (any, bool) {
	var v any
	if err := n.Decode(&v); err != nil {
		w.fail(n, path, "%v", err)
		return nil, false
	}
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, reflect.New(t).Interface())
	}
	if err != nil {
		w.fail(n, path, "not a valid %s: %v", t.Name(), err)
		return nil, false
	}
	return v, true
}

func (w *walker) object(n *yaml.Node, t reflect.Type, path string) (any, bool) {
	if n.Kind != yaml.MappingNode {
		w.fail(n, path, "expected a mapping, got %s", describe(n))
		return nil, false
	}
	fields := fieldsOf(t)
	out := map[string]any{}
	for _, p := range w.pairs(n, path) {
		key := p.key.Value
		fp := join(path, key)
		ft, ok := fields.byName[key]
		if !ok {
			w.fail(p.key, fp, "unknown field%s", didYouMean(key, fields.names))
			continue
		}
		if v, ok := w.walk(p.val, ft, fp); ok {
			out[key] = v
		}
	}
	return out, true
}

func (w *walker) list(n *yaml.Node, t reflect.Type, path string) (any, bool) {
	if n.Kind != yaml.SequenceNode {
		w.fail(n, path, "expected a list, got %s", describe(n))
		return nil, false
	}
	out := make([]any, 0, len(n.Content))
	for i, item := range n.Content {
		v, ok := w.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		if !ok {
			v = reflect.Zero(t.Elem()).Interface() // keep indexes stable for later messages
			if t.Elem().Kind() == reflect.Pointer {
				v = nil
			}
		}
		out = append(out, v)
	}
	return out, true
}

func (w *walker) dict(n *yaml.Node, t reflect.Type, path string) (any, bool) {
	if n.Kind != yaml.MappingNode {
		w.fail(n, path, "expected a mapping, got %s", describe(n))
		return nil, false
	}
	if t.Key().Kind() != reflect.String {
		w.fail(n, path, "field of Go type %s cannot be read from YAML", t)
		return nil, false
	}
	out := map[string]any{}
	for _, p := range w.pairs(n, path) {
		fp := fmt.Sprintf("%s[%s]", path, p.key.Value)
		if v, ok := w.walk(p.val, t.Elem(), fp); ok {
			out[p.key.Value] = v
		}
	}
	return out, true
}

type pair struct{ key, val *yaml.Node }

// pairs lists a mapping's entries with YAML merge keys (<<: *base) expanded; keys
// written in the mapping win over merged ones, and a key written twice is an error.
func (w *walker) pairs(n *yaml.Node, path string) []pair {
	var own, merged []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			w.fail(k, path, "mapping keys must be strings, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, w.mergeSources(v, path)...)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			w.fail(k, join(path, k.Value), "duplicate key (first on line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		own = append(own, pair{k, v})
	}
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; !ok {
			seen[p.key.Value] = p.key.Line
			own = append(own, p)
		}
	}
	return own
}

func (w *walker) mergeSources(v *yaml.Node, path string) []pair {
	if !w.spend(v, path) {
		return nil
	}
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		return w.pairs(v, path)
	case yaml.SequenceNode:
		var out []pair
		for _, item := range v.Content {
			out = append(out, w.mergeSources(item, path)...)
		}
		return out
	}
	w.fail(v, path, "<< must merge a mapping, got %s", describe(v))
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names a node's shape for messages: `a list`, `the string "x"`.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", v)
	case "!!int", "!!float":
		return "the number " + v
	case "!!bool":
		return "the boolean " + v
	case "!!null":
		return "null"
	}
	return fmt.Sprintf("%s %q", n.ShortTag(), v)
}

// structFields is the schema of one Go struct: its json field names and their types.
type structFields struct {
	byName map[string]reflect.Type
	names  []string // sorted, for suggestions
}

var fieldCache sync.Map // reflect.Type → *structFields

func fieldsOf(t reflect.Type) *structFields {
	if c, ok := fieldCache.Load(t); ok {
		return c.(*structFields)
	}
	sf := &structFields{byName: map[string]reflect.Type{}}
	collectFields(t, sf)
	for name := range sf.byName {
		sf.names = append(sf.names, name)
	}
	sort.Strings(sf.names)
	fieldCache.Store(t, sf)
	return sf
}

// collectFields follows encoding/json's rules: an embedded struct without a json name
// (or with ",inline") contributes its fields to the outer object.
func collectFields(t reflect.Type, sf *structFields) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" && f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, sf)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, taken := sf.byName[name]; !taken {
			sf.byName[name] = f.Type
		}
	}
}
