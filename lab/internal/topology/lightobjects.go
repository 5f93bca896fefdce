package topology

import (
	"fmt"
	"strings"
)

// MinObjectsPerApp is what every light application needs: its namespace, Deployment
// and Service; the rest of its objects are ConfigMaps.
const MinObjectsPerApp = 3

// AppManifests renders app's Kubernetes objects as one multi-document YAML: its
// namespace, a Deployment of 2 replicas carrying LightAppLabel (what the sites' load
// balancers watch), a Service, and ConfigMaps up to objects in all, so a fleet of N
// applications gives the replication N×objects objects to copy. Every object carries
// the application's selector label.
func AppManifests(app string, objects int) []byte {
	if objects < MinObjectsPerApp {
		objects = MinObjectsPerApp
	}
	var b strings.Builder
	labels := fmt.Sprintf("    %s: %s\n", partOfLabel, app)
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n%s", app, labels)
	fmt.Fprintf(&b, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[1]s
  labels:
%[2]s    %[3]s: %[1]s
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: %[1]s
  template:
    metadata:
      labels:
        app.kubernetes.io/name: %[1]s
%[4]s    spec:
      containers:
        - name: web
          image: registry.example.com/light-app:1
          ports:
            - {name: http, containerPort: 8080}
`, app, labels, LightAppLabel, indent(labels, 4))
	fmt.Fprintf(&b, `---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: %[1]s
  labels:
%[2]sspec:
  selector:
    app.kubernetes.io/name: %[1]s
  ports:
    - {name: http, port: 80, targetPort: http}
`, app, labels)
	for i := 1; i <= objects-MinObjectsPerApp; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-config-%04d\n  namespace: %s\n  labels:\n%sdata:\n  setting: \"value %d of %s\"\n",
			app, i, app, labels, i, app)
	}
	return []byte(b.String())
}

// indent adds n spaces before every line of s.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "")
}
