// Package v1alpha1 is hadron's fleet API, group hadron.dev, version v1alpha1.
//
// The same types are read from fleet files (internal/fleet) and served as custom
// resources; config/crd is generated from them by `make crds` (controller-gen), so
// the markers below and on the types are the CRDs' source.
//
// +kubebuilder:object:generate=true
// +groupName=hadron.dev
package v1alpha1
