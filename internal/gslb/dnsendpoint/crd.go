package dnsendpoint

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// CRD is a minimal DNSEndpoint CustomResourceDefinition: the group, version and names
// external-dns reads, with the spec kept as written. Clusters that run external-dns
// have its own; the lab and tests install this one where there is none.
func CRD() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata": map[string]any{"name": GVR.Resource + "." + GVR.Group,
			// *.k8s.io groups need this annotation; "unapproved" is accepted.
			"annotations": map[string]any{"api-approved.kubernetes.io": "unapproved, hadron lab"}},
		"spec": map[string]any{
			"group": GVR.Group,
			"scope": "Namespaced",
			"names": map[string]any{"kind": "DNSEndpoint", "listKind": "DNSEndpointList", "plural": GVR.Resource, "singular": "dnsendpoint"},
			"versions": []any{map[string]any{
				"name": GVR.Version, "served": true, "storage": true,
				"subresources": map[string]any{"status": map[string]any{}},
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				}},
			}},
		},
	}}
}
