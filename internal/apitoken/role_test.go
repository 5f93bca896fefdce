package apitoken

import (
	"errors"
	"slices"
	"testing"
)

func TestGrants(t *testing.T) {
	for _, tc := range []struct {
		held []Role
		need Role
		want bool
	}{
		{[]Role{Read}, Read, true},
		{[]Role{Read}, Operate, false},
		{[]Role{Read}, Admin, false},
		{[]Role{Read}, Daemon, false},
		{[]Role{Operate}, Read, true},
		{[]Role{Operate}, Operate, true},
		{[]Role{Operate}, Admin, false},
		{[]Role{Daemon}, Read, true},
		{[]Role{Daemon}, Operate, false},
		{[]Role{Admin}, Read, true},
		{[]Role{Admin}, Operate, false},
		{[]Role{Read, Admin}, Admin, true},
		{BootstrapRoles, Read, true},
		{BootstrapRoles, Operate, true},
		{BootstrapRoles, Daemon, true},
		{BootstrapRoles, Admin, true},
		{nil, Read, false},
	} {
		if got := Grants(tc.held, tc.need); got != tc.want {
			t.Errorf("Grants(%v, %s) = %v, want %v", tc.held, tc.need, got, tc.want)
		}
	}
}

func TestParseRoles(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []Role
		err  bool
	}{
		{in: []string{"read"}, want: []Role{Read}},
		{in: []string{"admin", "Operate"}, want: []Role{Operate, Admin}},
		{in: []string{"operate,read", "read"}, want: []Role{Read, Operate}},
		{in: []string{"root"}, err: true},
		{in: []string{""}, err: true},
		{in: nil, err: true},
	} {
		got, err := ParseRoles(tc.in)
		if tc.err {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseRoles(%q) = %v, %v; want ErrInvalid", tc.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseRoles(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"viewer": true, "ci-deploy": true, "a": true, "team.ops_1": true,
		"": false, "Viewer": false, "-x": false, "x-": false, "has space": false, "a/b": false,
		Bootstrap: false, string(make([]byte, 64)): false,
	} {
		if err := CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}

func TestSecretsDifferAndHashIsSHA256(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if a == b || len(a) != 64 {
		t.Fatalf("secrets %q and %q: want two different 64-hex-digit strings", a, b)
	}
	// echo -n abc | sha256sum
	if got := Hash("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("Hash(abc) = %s", got)
	}
}
