package rfc2136

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/gslb/recordplan"
	"hadron.dev/hadron/internal/gslb/rfc2136/bindtest"
)

func rec(name, typ string, targets ...string) recordplan.Record {
	return recordplan.Record{Name: name, Type: typ, TTL: 10, Targets: targets}
}

func TestAgainstBIND(t *testing.T) {
	b := bindtest.Start(t)
	ctx := context.Background()
	p, err := New(Config{Server: b.Addr, Zone: "example.test", KeyName: b.KeyName, KeySecret: b.Secret})
	if err != nil {
		t.Fatal(err)
	}
	sync := func(owner string, desired []recordplan.Record) recordplan.Plan {
		t.Helper()
		cur, err := p.Records(ctx)
		if err != nil {
			t.Fatal(err)
		}
		plan := recordplan.Make(owner, cur, desired)
		if err := p.Apply(ctx, plan); err != nil {
			t.Fatalf("apply:\n%s\n%v", plan, err)
		}
		return plan
	}
	desired := []recordplan.Record{
		rec("shop.example.test.", "A", "192.0.2.10"),
		rec("shop.example.test.", "AAAA", "2001:db8::10"),
		rec("east.shop.example.test.", "A", "192.0.2.10"),
		rec("west.shop.example.test.", "A", "198.51.100.20"), // collides with a foreign record
		rec("www.example.test.", "CNAME", "lb.cloud.example.net."),
	}

	plan := sync("east", desired)
	if len(plan.Changes) != 4 || len(plan.Conflicts) != 1 {
		t.Fatalf("first plan:\n%s", plan)
	}
	if got := b.Lookup(t, "shop.example.test.", dns.TypeA); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("shop A = %v", got)
	}
	if got := b.Lookup(t, "_hadron-a.shop.example.test.", dns.TypeTXT); !slices.Equal(got, []string{`"hadron-owner=east"`}) {
		t.Errorf("ownership record = %v", got)
	}
	if got := b.Lookup(t, "www.example.test.", dns.TypeCNAME); !slices.Equal(got, []string{"lb.cloud.example.net."}) {
		t.Errorf("www CNAME = %v", got)
	}
	if got := b.Lookup(t, "west.shop.example.test.", dns.TypeA); !slices.Equal(got, []string{"203.0.113.10"}) {
		t.Errorf("foreign west.shop A changed: %v", got)
	}

	// A second sync of the same records changes nothing.
	if plan := sync("east", desired); !plan.Empty() {
		t.Fatalf("second plan is not empty:\n%s", plan)
	}

	// Failover: the main name moves; the CNAME is no longer wanted and goes.
	desired[0] = rec("shop.example.test.", "A", "198.51.100.20")
	plan = sync("east", desired[:4])
	if s := plan.String(); !strings.Contains(s, "~ shop.example.test. 10 A 198.51.100.20 (was 192.0.2.10)") || !strings.Contains(s, "- www.example.test.") {
		t.Fatalf("failover plan:\n%s", s)
	}
	if got := b.Lookup(t, "shop.example.test.", dns.TypeA); !slices.Equal(got, []string{"198.51.100.20"}) {
		t.Errorf("shop A after failover = %v", got)
	}
	if got := b.Lookup(t, "www.example.test.", dns.TypeCNAME); len(got) != 0 {
		t.Errorf("www CNAME still there: %v", got)
	}
	if got := b.Lookup(t, "_hadron-cname.www.example.test.", dns.TypeTXT); len(got) != 0 {
		t.Errorf("ownership of the deleted CNAME still there: %v", got)
	}

	// Another owner (another site's daemon) sees east's records as not its own and
	// touches none of them, even when it wants none of them.
	plan = sync("west", nil)
	if !plan.Empty() {
		t.Fatalf("west's plan touches east's records:\n%s", plan)
	}
	plan = sync("west", []recordplan.Record{rec("shop.example.test.", "A", "203.0.113.99")})
	if len(plan.Conflicts) != 1 || plan.Conflicts[0].Owner != "east" {
		t.Fatalf("west's plan:\n%s", plan)
	}
	if got := b.Lookup(t, "foreign.example.test.", dns.TypeA); !slices.Equal(got, []string{"203.0.113.9"}) {
		t.Errorf("foreign record changed: %v", got)
	}

	// A record changed behind hadron's back after the plan was made fails the
	// update's prerequisites instead of being overwritten.
	cur, err := p.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stale := recordplan.Make("west", cur, []recordplan.Record{rec("late.example.test.", "A", "192.0.2.1")})
	other, _ := New(Config{Server: b.Addr, Zone: "example.test", KeyName: b.KeyName, KeySecret: b.Secret})
	if err := other.Apply(ctx, recordplan.Make("nobody", nil, []recordplan.Record{rec("late.example.test.", "A", "192.0.2.2")})); err != nil {
		t.Fatal(err)
	}
	var rerr *RcodeError
	if err := p.Apply(ctx, stale); !errors.As(err, &rerr) || !rerr.PrerequisiteFailed() {
		t.Fatalf("stale plan applied: %v", err)
	}
	if got := b.Lookup(t, "late.example.test.", dns.TypeA); !slices.Equal(got, []string{"192.0.2.2"}) {
		t.Errorf("late A = %v", got)
	}
}

func TestUnsignedUpdateRefused(t *testing.T) {
	b := bindtest.Start(t)
	p, _ := New(Config{Server: b.Addr, Zone: "example.test"})
	err := p.Apply(context.Background(), recordplan.Make("east", nil, []recordplan.Record{rec("x.example.test.", "A", "192.0.2.1")}))
	var rerr *RcodeError
	if !errors.As(err, &rerr) || rerr.Rcode != dns.RcodeRefused {
		t.Fatalf("unsigned update: %v, want REFUSED", err)
	}
}
