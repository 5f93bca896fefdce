package dns

import (
	"io"
	"strings"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/gslb"
)

// ZoneKind is the kind of `hadron dns zone`'s document (-o json|yaml).
const ZoneKind = "ZoneList"

// zoneDoc is one zone of the document: its origin and records.
type zoneDoc struct {
	Origin  string      `json:"origin"`
	Records []recordDoc `json:"records"`
}

// recordDoc is one resource record: the zone-file line's fields.
type recordDoc struct {
	Name  string `json:"name"`
	TTL   uint32 `json:"ttl"`
	Class string `json:"class"`
	Type  string `json:"type"`
	Data  string `json:"data"`
}

func recordOf(rr dns.RR) recordDoc {
	h := rr.Header()
	return recordDoc{Name: h.Name, TTL: h.Ttl, Class: dns.ClassToString[h.Class], Type: dns.TypeToString[h.Rrtype],
		Data: strings.TrimPrefix(rr.String(), h.String())}
}

func zoneCommand() *cobra.Command {
	var (
		file   string
		output cli.Output
	)
	cmd := &cobra.Command{
		Use:   "zone [-f FILE] [-o FORMAT]",
		Short: "Print the GSLB zones as zone files, as answered before any probe result",
		Long: `Print the GSLB zones as zone files, as answered before any probe result.

-o json|yaml prints a document of kind ZoneList: each zone's origin and its records
(name, ttl, class, type, data).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := cli.LoadFleet(file)
			if err != nil {
				return err
			}
			cat, err := gslb.Compile(f)
			if err != nil {
				return err
			}
			st := &gslb.State{Version: 1}
			zones := []zoneDoc{}
			for _, z := range cat.Zones {
				zd := zoneDoc{Origin: z.Origin, Records: []recordDoc{}}
				for _, rr := range cat.ZoneRecords(z, st) {
					zd.Records = append(zd.Records, recordOf(rr))
				}
				zones = append(zones, zd)
			}
			return output.Print(cmd.OutOrStdout(), ZoneKind, zones, func(w io.Writer) error {
				for _, z := range cat.Zones {
					if err := gslb.WriteZone(w, z.Origin, cat.ZoneRecords(z, st)); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	cli.FileFlag(cmd.Flags(), &file)
	cli.OutputFlag(cmd.Flags(), &output)
	return cmd
}
