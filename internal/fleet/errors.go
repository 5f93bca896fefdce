package fleet

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ErrNoFiles is returned when a fleet directory holds no *.yaml or *.yml file.
var ErrNoFiles = errors.New("no *.yaml or *.yml files")

// FieldError is one problem in a fleet: where it is and why it is wrong.
type FieldError struct {
	// File is the fleet file as the user named it; empty for fleets built in code.
	File string `json:"file,omitempty"`
	// Doc is the 1-based index of the YAML document in File; 0 when not known.
	Doc int `json:"doc,omitempty"`
	// Line is the 1-based line of the offending field in File; 0 when not known.
	Line int `json:"line,omitempty"`
	// Kind and Name identify the object (empty when the document has none).
	Kind string `json:"kind,omitempty"`
	Name string `json:"name,omitempty"`
	// Path is the field path inside the document, for example spec.policy.activeSite.
	Path   string `json:"path,omitempty"`
	Reason string `json:"reason"`
}

// Error prints the problem as `file: Kind "name": path: reason`.
func (e FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	switch {
	case e.Kind != "" && e.Name != "":
		fmt.Fprintf(&b, "%s %s: ", e.Kind, strconv.Quote(e.Name))
	case e.Kind != "" && e.Doc > 0:
		fmt.Fprintf(&b, "%s (document %d): ", e.Kind, e.Doc)
	case e.Doc > 0:
		fmt.Fprintf(&b, "document %d: ", e.Doc)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Errors is every problem found in one load, sorted by file, document and field path.
type Errors struct {
	List []FieldError
}

// Error prints one line per problem.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, fe := range e.List {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the problems by file, document, field path and reason; problems that tie
// keep the order they were found in.
func (e *Errors) Sort() {
	sort.SliceStable(e.List, func(i, j int) bool {
		a, b := e.List[i], e.List[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Doc != b.Doc {
			return a.Doc < b.Doc
		}
		if c := comparePaths(a.Path, b.Path); c != 0 {
			return c < 0
		}
		return a.Reason < b.Reason
	})
}

// comparePaths compares field paths so that list indexes sort by number
// (spec.members[2] before spec.members[10]).
func comparePaths(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			na, ra := leadingNumber(a)
			nb, rb := leadingNumber(b)
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			if a[0] < b[0] {
				return -1
			}
			return 1
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func leadingNumber(s string) (int, string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil { // too long to matter; fall back to its length
		n = i
	}
	return n, s[i:]
}

// AsErrors returns the field errors inside err, if err carries them.
func AsErrors(err error) ([]FieldError, bool) {
	var fe *Errors
	if errors.As(err, &fe) {
		return fe.List, true
	}
	return nil, false
}
