package world

import (
	"context"
	"errors"
	"log/slog"

	"hadron.dev/hadron/api/v1alpha1"
)

// bootstrapMirrorSet creates the mirror set from nothing with the data driver.
func bootstrapMirrorSet(ctx context.Context, set *v1alpha1.MirrorSet, password string, log *slog.Logger) error {
	return errors.New("mirror set bootstrap: waiting for the data driver")
}
