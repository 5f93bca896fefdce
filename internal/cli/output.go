package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
	"k8s.io/client-go/util/jsonpath"
)

// APIVersion is the apiVersion of every document hadron prints with -o json|yaml.
const APIVersion = "hadron.dev/v1alpha1"

// Output formats.
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatYAML     = "yaml"
	FormatJSONPath = "jsonpath"
)

// Output is the -o/--output flag: text for a person, or a document for a program —
// json, yaml, or one value picked with jsonpath=TEMPLATE (as kubectl's). An unknown
// format is refused while the flags are parsed, so it is a usage error before the
// command reads or asks anything.
type Output struct {
	format   string
	template string
	jp       *jsonpath.JSONPath
	docs     int // documents printed: a YAML stream separates them
}

// OutputFlag adds -o/--output.
func OutputFlag(fs *pflag.FlagSet, o *Output) {
	o.format = FormatText
	fs.VarP(o, "output", "o", "output format: text, json, yaml or jsonpath=TEMPLATE")
}

// Set parses a format: text, json, yaml, jsonpath=TEMPLATE (table is text's old name).
func (o *Output) Set(s string) error {
	name, tmpl, hasTmpl := strings.Cut(s, "=")
	switch {
	case (name == FormatText || name == "table") && !hasTmpl:
		o.format = FormatText
	case (name == FormatJSON || name == FormatYAML) && !hasTmpl:
		o.format = name
	case name == FormatJSONPath:
		tmpl = strings.Trim(tmpl, "'")
		if tmpl == "" {
			return errors.New("jsonpath needs a template: -o jsonpath='{.kind}'")
		}
		jp := jsonpath.New("output").AllowMissingKeys(true)
		if err := jp.Parse(tmpl); err != nil {
			return fmt.Errorf("jsonpath template %q: %w", tmpl, err)
		}
		o.format, o.template, o.jp = FormatJSONPath, tmpl, jp
	default:
		return fmt.Errorf("want text, json, yaml or jsonpath=TEMPLATE")
	}
	return nil
}

func (o *Output) String() string {
	switch {
	case o.format == "":
		return FormatText
	case o.format == FormatJSONPath:
		return FormatJSONPath + "=" + o.template
	}
	return o.format
}

// Type is the flag's value name in the help.
func (o *Output) Type() string { return "format" }

// Format is text, json, yaml or jsonpath.
func (o *Output) Format() string {
	if o.format == "" {
		return FormatText
	}
	return o.format
}

// Text says whether the output is for a person.
func (o *Output) Text() bool { return o.Format() == FormatText }

// Print writes v as a document of kind for -o json, yaml or jsonpath, and calls text
// for -o text. See Document for the document's shape.
func (o *Output) Print(w io.Writer, kind string, v any, text func(io.Writer) error) error {
	if o.Text() {
		return text(w)
	}
	doc, err := Document(kind, v)
	if err != nil {
		return err
	}
	defer func() { o.docs++ }()
	switch o.Format() {
	case FormatJSON:
		var b bytes.Buffer
		if err := json.Indent(&b, doc, "", "  "); err != nil {
			return err
		}
		b.WriteByte('\n')
		_, err = w.Write(b.Bytes())
		return err
	case FormatYAML:
		y, err := toYAML(doc)
		if err != nil {
			return err
		}
		if o.docs > 0 {
			y = append([]byte("---\n"), y...)
		}
		_, err = w.Write(y)
		return err
	}
	var data any
	if err := json.Unmarshal(doc, &data); err != nil {
		return err
	}
	if err := o.jp.Execute(w, data); err != nil {
		return fmt.Errorf("-o jsonpath=%s: %w", o.template, err)
	}
	return nil
}

// Document is v as JSON with apiVersion and kind first: an object's own fields
// follow, a list becomes items (kind names the list, e.g. RunList). A value whose
// JSON is neither, or an object that has its own apiVersion or kind, is refused: its
// command must wrap it.
func Document(kind string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	b = bytes.TrimSpace(b)
	head := fmt.Sprintf(`{"apiVersion":%q,"kind":%q`, APIVersion, kind)
	switch {
	case bytes.Equal(b, []byte("null")):
		return []byte(head + `,"items":[]}`), nil
	case len(b) > 0 && b[0] == '[':
		return []byte(head + `,"items":` + string(b) + `}`), nil
	case len(b) > 0 && b[0] == '{':
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
		for _, k := range []string{"apiVersion", "kind"} {
			if _, ok := fields[k]; ok {
				return nil, fmt.Errorf("%s: the document has its own %s field", kind, k)
			}
		}
		if len(fields) == 0 {
			return []byte(head + "}"), nil
		}
		return []byte(head + "," + string(b[1:])), nil
	}
	return nil, fmt.Errorf("%s: a document must be a JSON object or list, not %.20s", kind, b)
}

// toYAML turns a JSON document into block-style YAML, keeping the order of its keys.
func toYAML(doc []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return nil, err
	}
	var plain func(*yaml.Node)
	plain = func(n *yaml.Node) {
		n.Style = 0
		for _, c := range n.Content {
			plain(c)
		}
	}
	plain(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
