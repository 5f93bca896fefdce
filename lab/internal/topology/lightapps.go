package topology

import (
	"fmt"
	"strings"

	"hadron.dev/hadron/api/v1alpha1"
)

// Light applications (lab.yaml's apps: N) are stateless applications the lab adds beside
// the demo so fleets of tens to hundreds can be measured (issue 20). Each has its own
// namespace, selector, main name and health check; the site's load balancer answers
// their health paths itself from the ready replicas of their Deployments, so they cost
// one informer per site rather than a process each.
const (
	// MaxApps bounds lab.yaml's apps: every application is probed from every region and
	// has its own name, so a typo of 20000 would swamp the machine.
	MaxApps = 200
	// LightAppLabel marks a light application's Deployment with its application's
	// name; the ingress watches Deployments by this label across all namespaces.
	LightAppLabel = "lab.hadron.dev/light-app"
	// LightAppPrefix begins every light application's health path at the load
	// balancer: /apps/<app>/healthz.
	LightAppPrefix = "/apps/"
)

// AppName is the name of the i-th light application (from 1): app-001.
func AppName(i int) string { return fmt.Sprintf("app-%03d", i) }

// AppNames are the names of the config's light applications, in order.
func (c Config) AppNames() []string {
	out := make([]string, 0, c.Apps)
	for i := 1; i <= c.Apps; i++ {
		out = append(out, AppName(i))
	}
	return out
}

// AppHealthPath is the path of app's health check at every site's load balancer.
func AppHealthPath(app string) string { return LightAppPrefix + app + "/healthz" }

// AppOfPath returns the light application a request path at the load balancer belongs
// to: /apps/<app> and anything below it. ok is false for every other path, which the
// load balancer forwards to the demo as before.
func AppOfPath(path string) (app string, ok bool) {
	rest, found := strings.CutPrefix(path, LightAppPrefix)
	if !found {
		return "", false
	}
	app, _, _ = strings.Cut(rest, "/")
	if app == "" {
		return "", false
	}
	return app, true
}

// lightApps are the fleet's Applications for the config's light applications: the
// demo's policy (active-passive, pilot-light stand-by, automatic failover) without data.
func (c Config) lightApps(active string, standbys []string) []v1alpha1.Application {
	var out []v1alpha1.Application
	for _, name := range c.AppNames() {
		out = append(out, pilotLightApp(name, name, name+"."+DemoZone, AppHealthPath(name), active, standbys))
	}
	return out
}
