package runbook

import (
	"fmt"
	"strings"
)

// The plans: each kind of run is a list of steps, in order. A new step is one Def in
// the file of what it touches (steps_*.go) and its place in these lists.
var (
	failoverPlan   = []Def{fence, promote, activate, dns, verify, standbyOld}
	switchoverPlan = []Def{ready, capacity, fenceWrites, drain, dataSwitchover, activate, dns, verify, standbyOld}
	failbackPlan   = append([]Def{rejoin}, switchoverPlan...)
)

// Plans returns the steps of kind, in order.
func Plans(kind Kind) ([]Def, error) {
	switch kind {
	case Failover:
		return failoverPlan, nil
	case Switchover:
		return switchoverPlan, nil
	case Failback:
		return failbackPlan, nil
	}
	return nil, fmt.Errorf("%q: %w", kind, ErrUnknownKind)
}

// Plan returns the names of the steps of kind, in order (what a record stores).
func Plan(kind Kind) ([]string, error) {
	defs, err := Plans(kind)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = d.Name
	}
	return names, nil
}

// Describe is the plan as numbered lines for an operator, without looking at the
// sites (Env.Preview says what each step would do with the state observed).
func Describe(kind Kind, app, from, to string) (string, error) {
	defs, err := Plans(kind)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %s: %s → %s\n", kind, app, from, to)
	for i, d := range defs {
		fmt.Fprintf(&b, "  %d. %-16s %s\n", i+1, d.Name, d.describe(from, to))
	}
	return b.String(), nil
}

func (d Def) describe(from, to string) string { return fmt.Sprintf(d.Text, from, to) }

// allDefs is every step of every plan, once.
func allDefs() []Def {
	var out []Def
	seen := map[string]bool{}
	for _, plan := range [][]Def{failoverPlan, switchoverPlan, failbackPlan} {
		for _, d := range plan {
			if !seen[d.Name] {
				seen[d.Name] = true
				out = append(out, d)
			}
		}
	}
	return out
}
