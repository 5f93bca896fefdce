package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"
)

// note is a section as a later issue would add one.
type note struct {
	key  string
	Text string `json:"text"`
}

func (n note) Key() string                 { return n.key }
func (n note) Title() string               { return "Note " + n.key }
func (n note) WriteText(w io.Writer) error { _, err := fmt.Fprintln(w, n.Text); return err }

func TestSectionsKeepTheirOrder(t *testing.T) {
	p := &Plan{}
	p.Add(note{key: "zeta", Text: "first"})
	p.Add(note{key: "alpha", Text: "second"})
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"zeta":{"text":"first"},"alpha":{"text":"second"}}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var buf bytes.Buffer
	if err := p.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if want := "# Note zeta\n\nfirst\n\n# Note alpha\n\nsecond\n"; buf.String() != want {
		t.Errorf("text = %q, want %q", buf.String(), want)
	}
}
