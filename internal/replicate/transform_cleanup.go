package replicate

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// cleanup drops what names one cluster's state: server-set metadata, status, and the
// per-kind fields that would clash with or point at the source cluster's objects
// (allocated IPs and ports, node and volume bindings, controller UIDs). This is the
// same list a restore into another cluster has to drop.
func cleanup(o *unstructured.Unstructured) {
	delete(o.Object, "status")
	meta, _ := o.Object["metadata"].(map[string]any)
	for k := range meta {
		switch k {
		case "name", "namespace", "labels", "annotations":
		default:
			// uid, resourceVersion, generation, creationTimestamp, managedFields,
			// selfLink, finalizers, ownerReferences (UIDs do not cross clusters; the
			// garbage collector would delete a dependent whose owner UID is unknown).
			delete(meta, k)
		}
	}
	ann := o.GetAnnotations()
	for _, k := range droppedAnnotations {
		delete(ann, k)
	}
	setOrDropAnnotations(o, ann)

	switch gvk := o.GroupVersionKind(); {
	case gvk.Group == "" && gvk.Kind == "Service":
		cleanService(o)
	case gvk.Group == "" && gvk.Kind == "Pod":
		for _, f := range [][]string{{"spec", "nodeName"}, {"spec", "priority"}} {
			unstructured.RemoveNestedField(o.Object, f...)
		}
	case gvk.Group == "" && gvk.Kind == "PersistentVolumeClaim":
		unstructured.RemoveNestedField(o.Object, "spec", "volumeName")
	case gvk.Group == "" && gvk.Kind == "PersistentVolume":
		unstructured.RemoveNestedField(o.Object, "spec", "claimRef")
	case gvk.Group == "" && gvk.Kind == "ServiceAccount":
		// Token secret names are per cluster.
		unstructured.RemoveNestedField(o.Object, "secrets")
	case gvk.Group == "batch" && gvk.Kind == "Job":
		cleanJob(o)
	}
}

func setOrDropAnnotations(o *unstructured.Unstructured, ann map[string]string) {
	if len(ann) == 0 {
		unstructured.RemoveNestedField(o.Object, "metadata", "annotations")
		return
	}
	o.SetAnnotations(ann)
}

// cleanService drops the addresses and ports the source cluster allocated. A headless
// service keeps clusterIP None, which is a choice and not an allocation.
func cleanService(o *unstructured.Unstructured) {
	if ip, _, _ := unstructured.NestedString(o.Object, "spec", "clusterIP"); ip != "None" {
		unstructured.RemoveNestedField(o.Object, "spec", "clusterIP")
		unstructured.RemoveNestedField(o.Object, "spec", "clusterIPs")
	}
	unstructured.RemoveNestedField(o.Object, "spec", "healthCheckNodePort")
	ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
	for _, p := range ports {
		if m, ok := p.(map[string]any); ok {
			delete(m, "nodePort")
		}
	}
	if ports != nil {
		_ = unstructured.SetNestedSlice(o.Object, ports, "spec", "ports")
	}
}

// cleanJob drops the selector and labels that carry the source Job's UID; the
// stand-by's job controller generates its own.
func cleanJob(o *unstructured.Unstructured) {
	if manual, _, _ := unstructured.NestedBool(o.Object, "spec", "manualSelector"); !manual {
		unstructured.RemoveNestedField(o.Object, "spec", "selector")
	}
	labels, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
	for k := range labels {
		if strings.HasSuffix(k, "controller-uid") {
			delete(labels, k)
		}
	}
	if labels != nil {
		_ = unstructured.SetNestedStringMap(o.Object, labels, "spec", "template", "metadata", "labels")
	}
}
