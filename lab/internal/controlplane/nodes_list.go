package controlplane

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/lab/internal/nodes"
)

func listSite(specs []nodes.Spec) metav1.ListOptions {
	if len(specs) == 0 {
		return metav1.ListOptions{}
	}
	return metav1.ListOptions{LabelSelector: nodes.LabelSite + "=" + specs[0].Site}
}
