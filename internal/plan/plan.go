// Package plan is what `hadron plan` prints: an ordered list of sections, each computed
// from the fleet (and, in later sections, from what the sites report), each readable as
// text and as JSON. The topology section is the first; replication and DNS changes are
// added as further sections without touching the others.
package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Section is one part of a plan.
type Section interface {
	// Key names the section in JSON output ("topology").
	Key() string
	// Title heads the section in text output ("Topology").
	Title() string
	// WriteText prints the section for a person.
	WriteText(w io.Writer) error
}

// Plan is the sections in the order they print.
type Plan struct {
	Sections []Section
}

// Add appends a section.
func (p *Plan) Add(s Section) { p.Sections = append(p.Sections, s) }

// WriteText prints every section under its title, separated by blank lines.
func (p *Plan) WriteText(w io.Writer) error {
	for i, s := range p.Sections {
		if i > 0 {
			if _, err := fmt.Fprintln(w); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(w, "# %s\n\n", s.Title()); err != nil {
			return err
		}
		if err := s.WriteText(w); err != nil {
			return fmt.Errorf("section %s: %w", s.Key(), err)
		}
	}
	return nil
}

// MarshalJSON writes an object with one member per section, in section order.
func (p *Plan) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, s := range p.Sections {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(s.Key())
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("section %s: %w", s.Key(), err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
