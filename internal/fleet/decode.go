package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"hadron.dev/hadron/api/v1alpha1"
)

// Source is one fleet file's name (as shown in messages) and contents.
type Source struct {
	Name string
	Data []byte
}

// origin is where an object came from, for messages about it.
type origin struct {
	file  string
	doc   int
	lines map[string]int
}

var kinds = []string{v1alpha1.KindSite, v1alpha1.KindApplication, v1alpha1.KindMirrorSet, v1alpha1.KindDNSProvider}

// decode reads every YAML document of src into f, recording structural problems
// (syntax, unknown fields, wrong shapes) in errs. Documents with a bad header are
// skipped; others are kept with their bad fields left out, so that validation can
// still report the rest of the file.
func (f *Fleet) decode(src Source, errs *Errors) {
	dec := yaml.NewDecoder(bytes.NewReader(src.Data))
	for doc := 1; ; doc++ {
		var root yaml.Node
		err := safeDecode(dec, &root)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			errs.List = append(errs.List, FieldError{File: src.Name, Doc: doc, Reason: strings.TrimPrefix(err.Error(), "yaml: ")})
			return // the parser cannot resynchronise after a syntax error
		}
		n := &root
		if n.Kind == yaml.DocumentNode {
			if len(n.Content) == 0 {
				continue
			}
			n = n.Content[0]
		}
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			continue // an empty document, or one holding only comments
		}
		f.decodeDocument(src.Name, doc, n, errs)
	}
}

// safeDecode turns a parser panic into an error: a fleet file is outside input and a
// bug in the YAML library must not take the daemon down.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot parse: %v", r)
		}
	}()
	return dec.Decode(n)
}

func (f *Fleet) decodeDocument(file string, doc int, n *yaml.Node, errs *Errors) {
	at := FieldError{File: file, Doc: doc, Line: n.Line}
	if n.Kind != yaml.MappingNode {
		at.Reason = "expected a mapping with apiVersion, kind, metadata and spec, got " + describe(n)
		errs.List = append(errs.List, at)
		return
	}
	head := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode {
			head[k.Value] = n.Content[i+1]
		}
	}
	kind, name := scalar(head["kind"]), ""
	if md := head["metadata"]; md != nil && md.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(md.Content); i += 2 {
			if md.Content[i].Value == "name" {
				name = scalar(md.Content[i+1])
			}
		}
	}
	bad := func(path string, line int, reason string) {
		e := at
		e.Path, e.Line, e.Reason = path, line, reason
		if kind != "" && isKind(kind) {
			e.Kind, e.Name = kind, name
		}
		errs.List = append(errs.List, e)
	}
	switch av := head["apiVersion"]; {
	case av == nil:
		bad("apiVersion", n.Line, "required (want "+v1alpha1.GroupVersion+")")
	case scalar(av) != v1alpha1.GroupVersion:
		bad("apiVersion", av.Line, fmt.Sprintf("%s is not supported (want %s)", describe(av), v1alpha1.GroupVersion))
	}
	var obj any
	switch kind {
	case v1alpha1.KindSite:
		obj = &v1alpha1.Site{}
	case v1alpha1.KindApplication:
		obj = &v1alpha1.Application{}
	case v1alpha1.KindMirrorSet:
		obj = &v1alpha1.MirrorSet{}
	case v1alpha1.KindDNSProvider:
		obj = &v1alpha1.DNSProvider{}
	case "":
		if k := head["kind"]; k != nil {
			bad("kind", k.Line, fmt.Sprintf("expected one of %s, got %s", strings.Join(kinds, ", "), describe(k)))
			return
		}
		bad("kind", n.Line, "required (one of "+strings.Join(kinds, ", ")+")")
		return
	default:
		bad("kind", head["kind"].Line, fmt.Sprintf("%q is not one of %s%s", kind, strings.Join(kinds, ", "), didYouMean(kind, kinds)))
		return
	}
	w := newWalker()
	plain, _ := w.walk(n, reflect.TypeOf(obj).Elem(), "")
	for _, e := range w.errs {
		e.File, e.Doc, e.Kind, e.Name = file, doc, kind, name
		errs.List = append(errs.List, e)
	}
	b, err := json.Marshal(plain)
	if err == nil {
		err = json.Unmarshal(b, obj)
	}
	if err != nil { // the walker let through something the types refuse: say so, keep going
		bad("", n.Line, fmt.Sprintf("cannot decode: %v", err))
		return
	}
	f.remember(obj, origin{file: file, doc: doc, lines: w.lines})
	switch o := obj.(type) {
	case *v1alpha1.Site:
		f.Sites = append(f.Sites, o)
	case *v1alpha1.Application:
		f.Applications = append(f.Applications, o)
	case *v1alpha1.MirrorSet:
		f.MirrorSets = append(f.MirrorSets, o)
	case *v1alpha1.DNSProvider:
		f.DNSProviders = append(f.DNSProviders, o)
	}
}

func isKind(k string) bool {
	for _, x := range kinds {
		if k == x {
			return true
		}
	}
	return false
}

// scalar returns a scalar node's text, or "" for anything else.
func scalar(n *yaml.Node) string {
	if n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func (f *Fleet) remember(obj any, o origin) {
	if f.origins == nil {
		f.origins = map[any]origin{}
	}
	f.origins[obj] = o
}
