// Package discovery makes a Service exported by one site reachable under the same
// name in the application's other sites, backed by the exporting site's address as
// seen from the importing region: an ExternalName Service for a DNS name, or a
// selector-less Service with an EndpointSlice for an IP address. This automates seed
// 000's hand-made ExternalName services, so members addressed by stable names reach
// each other across clusters through internal load balancers.
//
// Imports are computed by pure functions (Exports, Imports, Plan); Sync does the I/O.
package discovery
