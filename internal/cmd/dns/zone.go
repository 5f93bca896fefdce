package dns

import (
	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
)

func zoneCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "zone",
		Short: "Print the GSLB zones as zone files, as answered before any probe result",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := fleet.Load(file)
			if err != nil {
				return err
			}
			cat, err := gslb.Compile(f)
			if err != nil {
				return err
			}
			st := &gslb.State{Version: 1}
			for _, z := range cat.Zones {
				if err := gslb.WriteZone(cmd.OutOrStdout(), z.Origin, cat.ZoneRecords(z, st)); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", fleet.DefaultPath(), "fleet file or directory")
	return cmd
}
