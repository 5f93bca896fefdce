package runbook

import (
	"fmt"
	"strings"
)

// Step names, in the order the plans use them.
const (
	StepRejoin         = "rejoin"
	StepReady          = "ready"
	StepCapacity       = "capacity"
	StepFence          = "fence"
	StepFenceWrites    = "fence-writes"
	StepDrain          = "drain"
	StepPromote        = "promote"
	StepDataSwitchover = "data-switchover"
	StepActivate       = "activate"
	StepDNS            = "dns"
	StepVerify         = "verify"
	StepStandbyOld     = "standby-old"
)

// what each step does, for the plan an operator reads before it runs.
var describe = map[string]string{
	StepRejoin:         "%[2]s's data members follow %[1]s's primary again (pg_rewind, else a fresh clone)",
	StepReady:          "check that %[2]s has a streaming data member and that %[1]s's primary is known",
	StepCapacity:       "raise the policy's capacity objects at %[2]s and wait until they are ready (before writes stop)",
	StepFence:          "DNS answers %[2]s at once; fence %[1]s's primary where reachable",
	StepFenceWrites:    "make %[1]s's primary refuse writes and record its final position",
	StepDrain:          "wait until %[2]s's member has received the final position",
	StepPromote:        "promote the most advanced member at %[2]s with the leader's token; record the loss",
	StepDataSwitchover: "promote %[2]s's member requiring the final position (nothing lost)",
	StepActivate:       "scale capacity, then workloads to their recorded replicas at %[2]s",
	StepDNS:            "the application's active site in etcd is %[2]s; every name server answers it",
	StepVerify:         "HTTP check through %[2]s and a data marker on every member",
	StepStandbyOld:     "%[1]s's data members rejoin as replicas; %[1]s serves for the DNS TTL more, then back to its stand-by style, its objects handed to replication (after a failover: workloads only, once %[1]s answers; data at failback)",
}

// Plan returns the steps of kind, in order.
func Plan(kind Kind) ([]string, error) {
	switch kind {
	case Failover:
		return []string{StepFence, StepPromote, StepActivate, StepDNS, StepVerify, StepStandbyOld}, nil
	case Switchover:
		return switchover(), nil
	case Failback:
		return append([]string{StepRejoin}, switchover()...), nil
	}
	return nil, fmt.Errorf("%q: %w", kind, ErrUnknownKind)
}

// Describe is the plan as numbered lines for an operator (and --dry-run).
func Describe(kind Kind, app, from, to string) (string, error) {
	steps, err := Plan(kind)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %s: %s → %s\n", kind, app, from, to)
	for i, s := range steps {
		fmt.Fprintf(&b, "  %d. %-16s %s\n", i+1, s, fmt.Sprintf(describe[s], from, to))
	}
	return b.String(), nil
}

func switchover() []string {
	return []string{StepReady, StepCapacity, StepFenceWrites, StepDrain, StepDataSwitchover, StepActivate, StepDNS, StepVerify, StepStandbyOld}
}
