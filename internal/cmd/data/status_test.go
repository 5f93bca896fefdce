package data

import (
	"bytes"
	"strings"
	"testing"

	"hadron.dev/hadron/internal/data"
)

func TestRenderStatus(t *testing.T) {
	st := &data.SetStatus{Set: "shop-db", Primary: "east-1", Members: []data.MemberStatus{
		{Member: "east-0", Site: "east", Zone: "a", Region: "us-east", Role: "primary", State: data.StateUnreachable, Error: "east-0: member unreachable: connection refused"},
		{Member: "east-1", Site: "east", Zone: "b", Region: "us-east", Role: "failover", Primary: true, Reachable: true, State: data.StatePrimary, Timeline: 2},
		{Member: "west-0", Site: "west", Zone: "a", Region: "us-west", Role: "dr-async", Reachable: true, State: data.StateDisconnected, Timeline: 2, LagBytes: 5000, LagSeconds: 12.34, Upstream: "east-1"},
	}}
	var b bytes.Buffer
	if err := RenderStatus(&b, st); err != nil {
		t.Fatal(err)
	}
	want := `MEMBER  SITE  ZONE  ROLE      STATE         LAG BYTES  LAG SECONDS  TIMELINE  UPSTREAM
east-0  east  a     Failover  unreachable   -          -            -         -
east-1  east  b     Primary   primary       0          0.0          2         -
west-0  west  a     DR async  disconnected  5000       12.3         2         east-1
east-0: member unreachable: connection refused
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}

	// A stand-by held at its pod's start says so: it follows nobody.
	held := *st
	held.Members = append([]data.MemberStatus(nil), st.Members...)
	held.Members[0] = data.MemberStatus{Member: "east-0", Site: "east", Zone: "a", Region: "us-east", Role: "primary", Reachable: true, State: data.StateDisconnected, Timeline: 1, FollowsNobody: true}
	b.Reset()
	_ = RenderStatus(&b, &held)
	if !strings.Contains(b.String(), "east-0  east  a     Failover  disconnected  0          0.0          1         nobody (held)") {
		t.Fatalf("held member:\n%s", b.String())
	}

	// With no primary the configured roles are shown, and the fact is said.
	st.Primary = ""
	st.Members[1].Primary, st.Members[1].State = false, data.StateUnreachable
	b.Reset()
	_ = RenderStatus(&b, st)
	if !strings.Contains(b.String(), "no member accepts writes") || !strings.Contains(b.String(), "east-0  east  a     Primary") {
		t.Fatalf("no primary:\n%s", b.String())
	}
}
