package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/load"
)

func loadCommand() *cobra.Command {
	var (
		cfg          load.Config
		output       string
		verify       bool
		verifyWithin time.Duration
		verbose      bool
	)
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Write to the demo application at a steady rate and report lost writes and unavailability",
		Long: `Post /write with increasing seqs to --url at --rate for --duration, then read the
client's seqs back and report every acknowledged write that is missing (lost), the
windows in which writes failed (client-view unavailability) and latency.
Exits 2 when acknowledged writes were lost.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("load: -o %q: want text or json", output)
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := load.Run(ctx, cfg)
			if err != nil {
				return err
			}
			report := loadReport{Summary: res.Summarize()}
			if verify {
				vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), verifyWithin)
				v, err := load.Verify(vctx, nil, res)
				cancel()
				if err != nil {
					report.VerifyError = err.Error()
				}
				report.Verification = v
			}
			if err := report.print(cmd.OutOrStdout(), output); err != nil {
				return err
			}
			if report.Verification != nil && len(report.Verification.Lost) > 0 {
				return &exitError{code: 2, err: fmt.Errorf("load: %d acknowledged writes lost", len(report.Verification.Lost))}
			}
			if report.VerifyError != "" {
				return fmt.Errorf("load: %s", report.VerifyError)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.URL, "url", "", "the demo application's base URL, e.g. http://127.0.1.10 (required)")
	f.Float64Var(&cfg.Rate, "rate", 200, "writes per second")
	f.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to write")
	f.StringVar(&cfg.Client, "client", "", "client id (default: load-<random>)")
	f.IntVar(&cfg.Workers, "workers", 16, "concurrent writers")
	f.DurationVar(&cfg.Timeout, "timeout", 2*time.Second, "limit of each write")
	f.Int64Var(&cfg.FirstSeq, "first-seq", 1, "first sequence number")
	f.BoolVar(&cfg.KeepAlive, "keep-alive", false, "reuse connections (default: a new connection and DNS lookup per write)")
	f.BoolVar(&verify, "verify", true, "read the seqs back afterwards and count lost writes")
	f.DurationVar(&verifyWithin, "verify-timeout", 30*time.Second, "how long to retry the read-back")
	f.StringVarP(&output, "output", "o", "text", "text or json")
	f.BoolVarP(&verbose, "verbose", "v", false, "log progress to stderr")
	_ = cmd.MarkFlagRequired("url")
	return cmd
}

type loadReport struct {
	load.Summary
	Verification *load.Verification `json:"verification,omitempty"`
	VerifyError  string             `json:"verifyError,omitempty"`
}

func (r loadReport) print(w io.Writer, output string) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	s := r.Summary
	ms := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	fmt.Fprintf(w, "url        %s\nclient     %s\n", s.URL, s.Client)
	fmt.Fprintf(w, "writes     %d attempted, %d acknowledged (%.1f/s), %d failed, %d skipped ticks\n",
		s.Attempts, s.Acked, s.AckedRate, s.Failed, s.Skipped)
	fmt.Fprintf(w, "latency    p50 %s  p99 %s  max %s\n", ms(s.P50), ms(s.P99), ms(s.Max))
	for site, n := range s.BySite {
		fmt.Fprintf(w, "site       %s: %d acknowledged\n", site, n)
	}
	for db, n := range s.ByDB {
		fmt.Fprintf(w, "database   %s: %d acknowledged\n", db, n)
	}
	if len(s.Outages) == 0 {
		fmt.Fprintln(w, "outages    none")
	}
	for i, o := range s.Outages {
		end := "until " + o.End.UTC().Format("15:04:05.000")
		if o.Open {
			end = "until the end (never recovered)"
		}
		fmt.Fprintf(w, "outage %d   %s from %s %s: %d failed writes (seqs %d-%d)\n", i+1,
			ms(o.Duration()), o.Start.UTC().Format("15:04:05.000"), end, o.Failures, o.FirstSeq, o.LastSeq)
	}
	fmt.Fprintf(w, "unavailable %s in total\n", ms(s.Unavailable))
	switch {
	case r.VerifyError != "":
		fmt.Fprintf(w, "verify     failed: %s\n", r.VerifyError)
	case r.Verification != nil:
		v := r.Verification
		fmt.Fprintf(w, "verify     %d present, %d acknowledged, %d lost, %d committed without acknowledgement (read via %s, %s)\n",
			v.Present, v.Acked, len(v.Lost), v.Unacknowledged, v.Site, v.DB)
		if len(v.Lost) > 0 {
			fmt.Fprintf(w, "lost seqs  %v\n", v.Lost)
		}
	}
	return nil
}
