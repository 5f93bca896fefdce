package replicate_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/site"
)

const (
	mainName = "shop.test.example"
	dbLB     = "127.0.211.20:15432" // east's address of the exported db service
	dbFromW  = "127.0.212.20:15432" // the same, as seen from west (a link)
)

// shopApp is the application under test: pilot-light on west, a bad rule for one
// ConfigMap, a custom kind west does not serve, a TLS secret, an exported service.
func shopApp(t testing.TB) *v1alpha1.Application {
	var app v1alpha1.Application
	if err := yaml.UnmarshalStrict([]byte(`
apiVersion: hadron.dev/v1alpha1
kind: Application
metadata: {name: shop}
spec:
  namespace: shop
  selector: {matchLabels: {app.kubernetes.io/part-of: shop}}
  policy: {mode: active-passive, activeSite: east, standbySites: [west], standby: pilot-light}
  dns: {zone: test.example, name: `+mainName+`}
  replication:
    kinds: [Widget.example.com]
    secrets: [shop-tls]
    rules:
    - kinds: [ConfigMap]
      name: broken
      jsonPatch: [{op: replace, path: /data/missing, value: x}]
    - sites: [west]
      kinds: [ConfigMap]
      name: settings
      mergePatch: {data: {REGION: test-west-2}}
    exports:
    - service: db
      endpoints: {east: {address: "`+dbLB+`", fromRegions: {test-west-2: "`+dbFromW+`"}}}
`), &app); err != nil {
		t.Fatal(err)
	}
	return &app
}

func parse(t testing.TB, y string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// tlsSecret is a certificate for the main name and east's name only: west's is
// missing, which readiness must flag.
func tlsSecret(t testing.TB) string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: mainName},
		DNSNames: []string{mainName, "east." + mainName}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	crt := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	k := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	return `{apiVersion: v1, kind: Secret, type: kubernetes.io/tls, metadata: {name: shop-tls, namespace: shop},
  data: {tls.crt: ` + crt + `, tls.key: ` + k + `}}`
}

const partOf = `app.kubernetes.io/part-of: shop`

// shopObjects are the application's objects on east.
func shopObjects(t testing.TB) []*unstructured.Unstructured {
	ys := []string{
		`{apiVersion: v1, kind: Namespace, metadata: {name: shop}}`,
		`{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: shop, labels: {` + partOf + `}}, data: {REGION: test-east-1, K: v1}}`,
		`{apiVersion: v1, kind: ConfigMap, metadata: {name: broken, namespace: shop, labels: {` + partOf + `}}, data: {a: b}}`,
		`{apiVersion: v1, kind: ConfigMap, metadata: {name: byhand, namespace: shop, labels: {` + partOf + `}}, data: {owner: east}}`,
		`{apiVersion: v1, kind: ConfigMap, metadata: {name: gone, namespace: shop, labels: {` + partOf + `}}, data: {x: "z"}}`,
		`{apiVersion: v1, kind: ConfigMap, metadata: {name: unrelated, namespace: shop}, data: {x: "z"}}`,
		`{apiVersion: v1, kind: Secret, metadata: {name: db-password, namespace: shop, labels: {` + partOf + `}}, stringData: {password: hunter2}}`,
		tlsSecret(t),
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, labels: {` + partOf + `},
  annotations: {external-dns.alpha.kubernetes.io/hostname: ` + mainName + `}},
  spec: {replicas: 3, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}},
  spec: {containers: [{name: web, image: "registry.east.test.example/shop/web:1", resources: {requests: {cpu: 100m, memory: 64Mi}}}]}}}}`,
		`{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web, namespace: shop, labels: {` + partOf + `}},
  spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, minReplicas: 2, maxReplicas: 5}}`,
		`{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop, labels: {` + partOf + `}},
  spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}}`,
		`{apiVersion: v1, kind: Service, metadata: {name: db, namespace: shop, labels: {` + partOf + `}},
  spec: {selector: {app: db}, ports: [{name: pg, port: 5432, targetPort: 5432}]}}`,
		`{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: web, namespace: shop, labels: {` + partOf + `}},
  spec: {tls: [{hosts: [` + mainName + `], secretName: shop-tls}],
  rules: [{host: ` + mainName + `, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}}`,
	}
	var out []*unstructured.Unstructured
	for _, y := range ys {
		out = append(out, parse(t, y))
	}
	return out
}

const widgetCRD = `{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: widgets.example.com},
  spec: {group: example.com, scope: Namespaced, names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList},
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]}}`

// applyAll applies objects in order on c, retrying while a new kind is not yet served.
func applyAll(t testing.TB, c *site.Conn, objs ...*unstructured.Unstructured) {
	t.Helper()
	eventually(t, time.Minute, "apply on "+c.Name, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := c.Apply(ctx, objs)
		if err != nil {
			c.Mapper.Reset()
			return false, err.Error()
		}
		return true, ""
	})
}

var (
	gvrConfigMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrSecrets     = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	gvrServices    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	gvrDeployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrHPAs        = schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}
	gvrIngresses   = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}
	gvrSlices      = schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}
)

// get returns an object of the shop namespace, or nil when it does not exist.
func get(t testing.TB, c *site.Conn, gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o, err := c.Dynamic.Resource(gvr).Namespace("shop").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return o
}
