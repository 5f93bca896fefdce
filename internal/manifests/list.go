package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"

	"hadron.dev/hadron/internal/fleet"
)

// ExpandLists replaces every List document (kind List, as kubectl get -o yaml prints
// several objects) by its items, one document each. A source without a List is
// returned unchanged, so its problems keep their line numbers; in one with a List the
// lines are those of the expanded stream, and the object and field path still say
// where a problem is.
func ExpandLists(srcs []fleet.Source) ([]fleet.Source, error) {
	out := make([]fleet.Source, 0, len(srcs))
	for _, src := range srcs {
		s, err := expand(src)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func expand(src fleet.Source) (fleet.Source, error) {
	var docs []*yaml.Node
	found := false
	dec := yaml.NewDecoder(bytes.NewReader(src.Data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Leave the source alone: the fleet's decoder reports the syntax error with
			// its line.
			return src, nil
		}
		items, ok := listItems(&n)
		if !ok {
			docs = append(docs, &n)
			continue
		}
		found = true
		docs = append(docs, items...)
	}
	if !found {
		return src, nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return src, fmt.Errorf("%s: expanding a List: %w", src.Name, err)
		}
	}
	if err := enc.Close(); err != nil {
		return src, fmt.Errorf("%s: expanding a List: %w", src.Name, err)
	}
	return fleet.Source{Name: src.Name, Data: b.Bytes()}, nil
}

// listItems returns the items of a document of kind List, and whether it is one.
func listItems(doc *yaml.Node) ([]*yaml.Node, bool) {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil, false
	}
	var kind string
	var items *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "kind":
			kind = n.Content[i+1].Value
		case "items":
			items = n.Content[i+1]
		}
	}
	if kind != "List" || items == nil || items.Kind != yaml.SequenceNode {
		return nil, false
	}
	return items.Content, true
}
