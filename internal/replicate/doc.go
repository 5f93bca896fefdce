// Package replicate keeps an application's Kubernetes objects on its stand-by sites:
// it watches the active site, transforms every object for the site it goes to (what
// must not cross clusters is dropped, names and labels are rewritten, the stand-by
// style is applied, the fleet's rules are patched in), plans the changes against what
// the stand-by holds, and applies them with server-side apply.
//
// The transforms and the planner are pure functions of objects; the Replicator and
// the parity and readiness checks are the I/O around them. Every object hadron writes
// carries ownership annotations; an object without them is never changed and is
// reported as a conflict.
package replicate
