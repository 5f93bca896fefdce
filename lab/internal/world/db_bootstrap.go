package world

import (
	"context"
	"fmt"
	"log/slog"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data/postgres"
)

// bootstrapMirrorSet creates the mirror set from nothing with hadron's own data driver
// (initdb, base backups, slots, synchronous_standby_names), so the lab starts its
// databases exactly as `hadron data bootstrap` would.
func bootstrapMirrorSet(ctx context.Context, set *v1alpha1.MirrorSet, regions map[string]string, password string, log *slog.Logger) error {
	d, err := postgres.New(postgres.Config{Set: set, Regions: regions, Password: password, Logger: log})
	if err != nil {
		return err
	}
	if err := d.Bootstrap(ctx); err != nil {
		return fmt.Errorf("mirror set %s: %w", set.Name, err)
	}
	return nil
}
