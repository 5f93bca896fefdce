// Package objects is hadron's vocabulary for the Kubernetes objects it writes on a
// site: the annotations and labels that say who owns an object and what it reflects,
// the Ref that names an object independently of its version, the Change a planner
// decides for one object (create, update, delete, in sync, conflict …), the hash of
// the content written, and the apply that carries out one change.
//
// Replication (internal/replicate), cross-site discovery (internal/discovery) and the
// compute steps (internal/compute) speak these words; the package depends on none of
// them.
package objects
