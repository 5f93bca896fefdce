// Package pki is `hadron pki`: look after the fleet's certificates on the machine that
// keeps the CA.
package pki

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/coord"
)

// Kind is the kind of rotate's document (-o json|yaml).
const Kind = "CertificateRotation"

// Command returns `hadron pki`.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pki",
		Short: "Look after the fleet's certificates (on the machine that keeps the CA)",
	}
	cmd.AddCommand(rotateCommand())
	return cmd
}

// Rotation is the document of `hadron pki rotate`.
type Rotation struct {
	CADir string        `json:"caDir"`
	Certs []RotatedCert `json:"certificates"`
}

// RotatedCert is one certificate as rotate left it.
type RotatedCert struct {
	Name     string    `json:"name"`
	File     string    `json:"file"`
	Rotated  bool      `json:"rotated"`
	Serial   string    `json:"serial"`
	NotAfter time.Time `json:"notAfter"`
}

func rotateCommand() *cobra.Command {
	var (
		file, caDir string
		sites       []string
		validity    time.Duration
		within      time.Duration
		output      cli.Output
	)
	cmd := &cobra.Command{
		Use:   "rotate --ca-dir DIR [--site SITE]... [--validity D] [--within D] [-f FILE] [-o FORMAT]",
		Short: "Reissue the daemons' and the operator's certificates with the same CA",
		Long: `Reissue leaf certificates — a new key and certificate, signed by the same CA — in the
CA's directory made by ` + "`hadron serve --init-pki DIR`" + `: DIR/sites/<site>/<site>.crt/.key for
each daemon site and DIR/client/client.crt/.key for the operator (--site client).

Daemons read their certificate files again when they change and serve the new
certificate from their next TLS handshake on (API, etcd peers and clients): no
restart. A daemon that reads its bundle from DIR directly picks it up at once; for the
others copy DIR/sites/<site>/<site>.crt and <site>.key to the site (both files; the
daemon keeps its current certificate until the two match). The CA is never created
or changed here; a new CA means a new --init-pki and a restart of every daemon.

--within D reissues only certificates that expire within D (for a periodic job:
` + "`hadron pki rotate --ca-dir DIR --within 720h`" + `). hadron_cert_expiry_seconds and
` + "`hadron status`" + ` show each daemon's expiry.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if caDir == "" {
				return cli.Usagef("--ca-dir DIR is required: the directory made by hadron serve --init-pki")
			}
			f, err := cli.LoadFleet(file)
			if err != nil {
				return err
			}
			done, err := coord.PKI{Dir: caDir}.Rotate(f, coord.RotateOptions{Names: sites, Validity: validity, Within: within})
			doc := Rotation{CADir: caDir, Certs: []RotatedCert{}}
			for _, r := range done {
				doc.Certs = append(doc.Certs, RotatedCert{Name: r.Name, File: r.CertFile, Rotated: r.Rotated,
					Serial: r.Serial.Text(16), NotAfter: r.NotAfter.UTC()})
			}
			if err != nil {
				return err
			}
			return output.Print(cmd.OutOrStdout(), Kind, doc, func(w io.Writer) error { return render(w, doc) })
		},
	}
	fl := cmd.Flags()
	cli.FileFlag(fl, &file)
	fl.StringVar(&caDir, "ca-dir", "", "the CA's directory (ca.crt, ca.key, sites/, client/)")
	fl.StringSliceVar(&sites, "site", nil, "rotate only these daemon sites (or client, the operator's); default every certificate")
	cli.CompleteSiteFlag(cmd, "site")
	fl.DurationVar(&validity, "validity", 0, "validity of the new certificates (default 8760h, one year)")
	fl.DurationVar(&within, "within", 0, "only certificates that expire within this long (default: all named)")
	cli.OutputFlag(fl, &output)
	return cmd
}

func render(w io.Writer, doc Rotation) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CERTIFICATE\tROTATED\tSERIAL\tEXPIRES\tFILE")
	for _, c := range doc.Certs {
		rotated := "no (not due)"
		if c.Rotated {
			rotated = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, rotated, c.Serial, c.NotAfter.Format(time.RFC3339), c.File)
	}
	return tw.Flush()
}
