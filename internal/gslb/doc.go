// Package gslb decides what hadron's authoritative DNS answers for an application's
// names: the zones compiled from the fleet (Catalog), the health state they are
// answered from (State, Store), and the pure answer function (Catalog.Answer). The
// server lives in gslb/dnsserver; record providers for zones hadron cannot own live in
// gslb/rfc2136 and gslb/dnsendpoint.
package gslb
