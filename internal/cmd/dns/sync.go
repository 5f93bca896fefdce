package dns

import "github.com/spf13/cobra"

func syncCommand() *cobra.Command {
	return &cobra.Command{Use: "sync", Short: "Write the application names to a DNS provider", Hidden: true}
}
