package data

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/pgserver"
)

// memberStartFlags are where a member's pod finds what hadron and its Secrets give it.
type memberStartFlags struct {
	dataDir      string
	instructions string
	passwordFile string
	tlsDir       string
	allow        []string
	port         int
	timeout      time.Duration
}

// memberStartCommand is the entrypoint of a member's container: it readies the data
// directory for what hadron named (postgres.PrepareInPod) and runs the server in the
// foreground, so the container lives and dies with it.
func memberStartCommand(o *options) *cobra.Command {
	var f memberStartFlags
	cmd := &cobra.Command{
		Use:   "member-start SET MEMBER",
		Short: "Run a member in its pod: ready its data directory as hadron says, then run the server",
		Long: `Run by the container of a member that lives in a pod (one StatefulSet per member,
its data directory on the pod's volume). Before the server starts it reads what hadron
wrote for the members in pods (--instructions: the file "primary", and "rebuild.MEMBER"),
and makes the data directory right for it: initdb for a new primary, pg_basebackup
from the primary for an empty stand-by, pg_rewind (or a fresh clone) for a former
primary or when hadron asks, a stand-by of nobody for a primary that restarts before
hadron decided. Then it runs postgres in the foreground; SIGTERM stops it fast.
With spec.backup it writes the member's pgBackRest configuration (archive_command)
before the server starts and, while the member is primary, makes the stanza, pushes
what the archive lacks of the previous timeline and takes the scheduled base backups.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMemberStart(cmd.Context(), o, f, args[0], args[1])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", "/var/lib/postgresql/data/pgdata", "the member's data directory, on the pod's volume")
	fl.StringVar(&f.instructions, "instructions", "/etc/hadron/instructions", "directory of what hadron wrote for the members in pods (a ConfigMap)")
	fl.StringVar(&f.passwordFile, "password-file", "/etc/hadron/secret/password", "the set's password (a Secret)")
	fl.StringVar(&f.tlsDir, "tls-dir", "/etc/hadron/tls", "ca.crt, tls.crt and tls.key of the member (a Secret); unused when the set's TLS is off")
	fl.StringSliceVar(&f.allow, "allow-cidr", nil, "client networks pg_hba.conf lets in besides loopback (the pod network)")
	fl.IntVar(&f.port, "port", 5432, "the port the server listens on, on every address of the pod")
	fl.DurationVar(&f.timeout, "prepare-timeout", 10*time.Minute, "how long the data directory may take to be ready (a clone waits for the primary)")
	return cmd
}

func runMemberStart(ctx context.Context, o *options, f memberStartFlags, set, member string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("member", member)
	fl, err := o.Load(set, member)
	if err != nil {
		return err
	}
	// A copy in which only this member has a data directory: the driver then never
	// takes another member's files for its own.
	cp := *fl.MirrorSet(set)
	cp.Spec.Members = append([]v1alpha1.Member(nil), cp.Spec.Members...)
	s := &cp
	region := ""
	for i := range s.Spec.Members {
		m := &s.Spec.Members[i]
		if m.Name == member {
			m.DataDir = f.dataDir
			if site := fl.Site(m.Site); site != nil {
				region = site.Spec.Region
			}
		} else {
			m.DataDir = ""
		}
	}
	regions := map[string]string{}
	for _, site := range fl.Sites {
		regions[site.Name] = site.Spec.Region
	}
	pw, err := os.ReadFile(f.passwordFile)
	if err != nil {
		return fmt.Errorf("member %s: password: %w", member, err)
	}
	var tls *postgres.TLS
	if s.Spec.TLS != nil && s.Spec.TLS.Mode != "" {
		ca, err := os.ReadFile(filepath.Join(f.tlsDir, "ca.crt"))
		if err != nil {
			return fmt.Errorf("member %s: %w", member, err)
		}
		tls = &postgres.TLS{Mode: s.Spec.TLS.Mode, CA: ca, ServerCert: func(context.Context, string) ([]byte, []byte, error) {
			crt, err := os.ReadFile(filepath.Join(f.tlsDir, "tls.crt"))
			if err != nil {
				return nil, nil, err
			}
			key, err := os.ReadFile(filepath.Join(f.tlsDir, "tls.key"))
			return crt, key, err
		}}
	}
	// With spec.backup the member archives, and while primary takes the scheduled
	// base backups, from here (postgres.PodArchiving): the repository's secrets are
	// files of the pod's Secret, which the pod's fleet names.
	backup, err := postgres.BackupFromFleet(ctx, fl, s)
	if err != nil {
		return fmt.Errorf("member %s: %w", member, err)
	}
	allow := append([]string{"127.0.0.0/8", "::1/128"}, f.allow...)
	// The pod's own driver: every other member dialled from the member's region, as
	// its WAL receiver, pg_basebackup and pg_rewind will.
	drv, err := postgres.New(postgres.Config{Set: s, Regions: regions, Password: strings.TrimSpace(string(pw)),
		TLS: tls, Region: region, Logger: log, AllowCIDRs: allow, Backup: backup})
	if err != nil {
		return err
	}
	in := readInstructions(f.instructions, member)
	// The container is new: a postmaster.pid on the volume is the last container's,
	// whose process ids mean nothing here (the volume is one pod's: ReadWriteOnce).
	if err := os.Remove(filepath.Join(f.dataDir, "postmaster.pid")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("member %s: %w", member, err)
	}
	pctx, cancel := context.WithTimeout(ctx, f.timeout)
	act, err := drv.PrepareInPod(pctx, member, in)
	cancel()
	if err != nil {
		return err
	}
	log.Info("data directory ready; starting the server", "action", act)
	if backup != nil {
		actx, stop := context.WithCancel(ctx)
		defer stop()
		go drv.RunPodArchiving(actx, postgres.PodArchiving{Member: member, Schedule: postgres.BackupSchedule(s.Spec.Backup.Schedule)})
	}
	return runPostgres(ctx, f.dataDir, f.port, log)
}

// readInstructions reads the ConfigMap's files; a missing file is an empty value.
func readInstructions(dir, member string) postgres.PodInstruction {
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return strings.TrimSpace(string(b))
	}
	return postgres.PodInstruction{Primary: read("primary"), Rebuild: read("rebuild." + member)}
}

// runPostgres runs the postmaster in the foreground until it exits. The container's
// SIGTERM (pod deletion) becomes a fast shutdown: PostgreSQL's own answer to SIGTERM
// waits for every client to leave, which a loaded member never sees before the grace
// period ends in SIGKILL.
func runPostgres(ctx context.Context, dir string, port int, log *slog.Logger) error {
	args := []string{"-D", dir, "-c", "listen_addresses=*", "-c", fmt.Sprintf("port=%d", port), "-c", "unix_socket_directories="}
	tlsSettings, err := pgserver.TLSSettings(dir)
	if err != nil {
		return err
	}
	for _, kv := range tlsSettings {
		args = append(args, "-c", kv)
	}
	cmd := exec.Command(filepath.Join(pgserver.Bin(), "postgres"), args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for s := range sigs {
			log.Info("stopping the server (fast)", "signal", s)
			_ = cmd.Process.Signal(syscall.SIGINT)
		}
	}()
	err = cmd.Wait()
	signal.Stop(sigs)
	close(sigs)
	if err != nil {
		return &cli.ExitError{Code: cli.ExitFailed}
	}
	return nil
}
