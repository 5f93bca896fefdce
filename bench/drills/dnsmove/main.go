// Command dnsmove measures when a name server started answering the new site in each
// drill: `watch` asks the server for the main name every --every and writes what it
// answered (one JSON line each); `report` reads those lines with the drills' report
// (`hadron drill --repeat N -o json`) and prints, per move, when the answer changed
// against the drill's start and against the runbook's dns step, with p50/max.
//
// The drill's own client re-resolves only as the TTL allows, so it cannot say within
// 1 s when the company's server moved; a watcher asking 20 times a second can.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/drill"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "watch":
		err = watch(os.Args[2:])
	case "report":
		err = report(os.Args[2:], os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dnsmove:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: dnsmove watch --server HOST:PORT --name NAME [--every 50ms] > answers.jsonl\n       dnsmove report --answers answers.jsonl DRILL.json...")
	os.Exit(2)
}

// sample is one answer of the watched server ("" when it gave none or failed).
type sample struct {
	At     time.Time `json:"at"`
	Answer string    `json:"answer"`
}

func watch(args []string) error {
	fs := flag.NewFlagSet("watch", flag.ExitOnError)
	server := fs.String("server", "", "name server to ask, HOST:PORT")
	name := fs.String("name", "", "the main name")
	every := fs.Duration("every", 50*time.Millisecond, "how often to ask")
	_ = fs.Parse(args)
	if *server == "" || *name == "" {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &dns.Client{Timeout: 500 * time.Millisecond}
	enc := json.NewEncoder(os.Stdout)
	t := time.NewTicker(*every)
	defer t.Stop()
	for {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(*name), dns.TypeA)
		at := time.Now()
		var addrs []string
		if in, _, err := c.ExchangeContext(ctx, m, *server); err == nil {
			for _, rr := range in.Answer {
				if a, ok := rr.(*dns.A); ok {
					addrs = append(addrs, a.A.String())
				}
			}
		}
		sort.Strings(addrs)
		if err := enc.Encode(sample{At: at, Answer: strings.Join(addrs, ",")}); err != nil {
			return fmt.Errorf("write sample: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// move is one drill phase as the watched server saw it.
type move struct {
	What string
	// Moved is when the server first answered what it answered at the phase's end,
	// after answering something else since the phase began (zero: never seen).
	Moved time.Time
	// FromStart is Moved − the phase's start (the fault, or the planned run's request):
	// the system RTO as the company's server sees it.
	FromStart time.Duration
	// FromDNSStep is Moved − the runbook's dns step start (negative: the leader's
	// providers loop had published before the step, when the active site moved).
	FromDNSStep time.Duration
	HasDNSStep  bool
}

// moves finds, for each phase, when the answers changed to the phase's final answer.
// Answers are in time order.
func moves(answers []sample, phases []labelled) []move {
	var out []move
	for _, ph := range phases {
		p := ph.Phase
		end := p.Start.Add(p.SystemRTO)
		if p.Run != nil && p.Run.Verified != nil {
			end = *p.Run.Verified
		}
		m := move{What: ph.label}
		before := answerAt(answers, p.Start)
		final := answerAt(answers, end)
		for _, s := range answers {
			if s.At.Before(p.Start) || s.At.After(end) {
				continue
			}
			if s.Answer == final && final != before && final != "" {
				m.Moved = s.At
				break
			}
		}
		if !m.Moved.IsZero() {
			m.FromStart = m.Moved.Sub(p.Start)
			if p.Run != nil {
				for _, st := range p.Run.Steps {
					if st.Name == "dns" && st.Started != nil {
						m.FromDNSStep, m.HasDNSStep = m.Moved.Sub(*st.Started), true
					}
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// answerAt is the last answer sampled at or before t ("" before the first).
func answerAt(answers []sample, t time.Time) string {
	last := ""
	for _, s := range answers {
		if s.At.After(t) {
			break
		}
		last = s.Answer
	}
	return last
}

type labelled struct {
	label string
	drill.Phase
}

type doc struct {
	Drills []drill.Report `json:"drills"`
}

func report(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	path := fs.String("answers", "", "the watcher's JSON lines")
	_ = fs.Parse(args)
	if *path == "" || fs.NArg() == 0 {
		usage()
	}
	answers, err := readAnswers(*path)
	if err != nil {
		return err
	}
	var phases []labelled
	for _, f := range fs.Args() {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var d doc
		if err := json.Unmarshal(b, &d); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for i, r := range d.Drills {
			for _, p := range []*drill.Phase{r.Drill, r.Failback} {
				if p != nil {
					phases = append(phases, labelled{fmt.Sprintf("%s #%d %s %s→%s", strings.TrimSuffix(f, ".json"), i+1, p.Kind, p.From, p.To), *p})
				}
			}
		}
	}
	ms := moves(answers, phases)
	fmt.Fprintf(w, "%-58s %12s %14s\n", "move", "from start", "from dns step")
	var fromStart, fromStep []time.Duration
	for _, m := range ms {
		if m.Moved.IsZero() {
			fmt.Fprintf(w, "%-58s %12s %14s\n", m.What, "not seen", "")
			continue
		}
		step := "no dns step"
		if m.HasDNSStep {
			step = m.FromDNSStep.Round(time.Millisecond).String()
			fromStep = append(fromStep, m.FromDNSStep)
		}
		fromStart = append(fromStart, m.FromStart)
		fmt.Fprintf(w, "%-58s %12s %14s\n", m.What, m.FromStart.Round(time.Millisecond), step)
	}
	st, sp := drill.P50Max(fromStart), drill.P50Max(fromStep)
	fmt.Fprintf(w, "server answered the new site: from start p50 %s max %s; from the dns step p50 %s max %s (%d moves, %d not seen)\n",
		ms3(st[0]), ms3(st[1]), ms3(sp[0]), ms3(sp[1]), len(ms), len(ms)-len(fromStart))
	return nil
}

func readAnswers(path string) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	var out []sample
	for {
		var s sample
		if err := dec.Decode(&s); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return out, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

func ms3(d time.Duration) string { return d.Round(time.Millisecond).String() }
