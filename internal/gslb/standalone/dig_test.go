package standalone

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
)

// bigFleet adds a site with 60 load balancers: its A answer (over 900 bytes) does not
// fit in 512 bytes, so plain UDP answers must be truncated.
func bigFleet(t *testing.T) *Node {
	east, west := startLB(t, "127.0.0.1"), startLB(t, "127.0.0.2")
	f := testFleet([]v1alpha1.Endpoint{ep(east.addr, nil)}, []v1alpha1.Endpoint{ep(west.addr, nil)})
	var many []v1alpha1.Endpoint
	for i := 1; i <= 60; i++ {
		many = append(many, ep(fmt.Sprintf("127.0.9.%d:80", i), nil))
	}
	f.Sites = append(f.Sites, site("many", "ap", many...))
	f.Sites[0].Spec.ClientSubnets = []string{"10.1.0.0/16"}
	f.Sites[1].Spec.ClientSubnets = []string{"10.2.0.0/16", "127.0.0.0/8"} // the tests' source address
	near := *f.Applications[0]
	near.Name = "near"
	near.Spec.DNS = &v1alpha1.DNS{Zone: "gslb.test", Name: "near.gslb.test", Strategy: v1alpha1.StrategyGeo}
	f.Applications = append(f.Applications, &near)
	f.Applications = append(f.Applications, &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "big"},
		Spec: v1alpha1.ApplicationSpec{Namespace: "big",
			Policy: v1alpha1.Policy{Mode: v1alpha1.ModeActivePassive, ActiveSite: "many"},
			DNS:    &v1alpha1.DNS{Zone: "gslb.test", Name: "big.gslb.test"},
			Health: &v1alpha1.Health{Type: v1alpha1.ProbeTCP}},
	})
	return startNodeWith(t, Options{Fleet: f, StatusTXT: true})
}

// Without StatusTXT (the default) dig finds no _status name.
func TestStatusTXTOffByDefault(t *testing.T) {
	east, west := startLB(t, "127.0.0.1"), startLB(t, "127.0.0.2")
	n := startNode(t, testFleet([]v1alpha1.Endpoint{ep(east.addr, nil)}, []v1alpha1.Endpoint{ep(west.addr, nil)}), nil)
	out := dig(t, n, "_status.shop.gslb.test", "TXT")
	if m := status.FindStringSubmatch(out); m == nil || m[1] != "NXDOMAIN" {
		t.Fatalf("dig _status.shop TXT without StatusTXT:\n%s\nwant NXDOMAIN", out)
	}
}

var (
	digFlags  = regexp.MustCompile(`(?m)^;; flags: ([a-z ]*);`)
	kdigFlags = regexp.MustCompile(`(?m)^;; Flags: ([a-z ]*);`)
	status    = regexp.MustCompile(`status: ([A-Z]+)`)
	answers   = regexp.MustCompile(`ANSWER: (\d+)`)
)

func flagsOf(re *regexp.Regexp, out string) map[string]bool {
	m := re.FindStringSubmatch(out)
	got := map[string]bool{}
	if m != nil {
		for _, f := range strings.Fields(m[1]) {
			got[f] = true
		}
	}
	return got
}

func TestRealClients(t *testing.T) {
	n := bigFleet(t)
	cases := []struct {
		name    string
		tool    func(*testing.T, *Node, ...string) string
		args    []string
		status  string
		answers string
		flags   []string // must be set
		noFlags []string // must be clear
		contain string
	}{
		{"dig UDP answer", dig, []string{"shop.gslb.test", "A"}, "NOERROR", "1", []string{"qr", "aa", "rd"}, []string{"ra", "tc"}, "127.0.0.1"},
		{"dig TCP answer", dig, []string{"+tcp", "shop.gslb.test", "A"}, "NOERROR", "1", []string{"aa"}, []string{"ra"}, "127.0.0.1"},
		{"dig without recursion desired", dig, []string{"+norec", "shop.gslb.test", "A"}, "NOERROR", "1", []string{"aa"}, []string{"rd", "ra"}, ""},
		{"dig case-insensitive", dig, []string{"ShOp.GsLb.TeSt", "A"}, "NOERROR", "1", []string{"aa"}, nil, "ShOp.GsLb.TeSt."},
		{"dig NXDOMAIN with SOA", dig, []string{"nope.gslb.test", "A"}, "NXDOMAIN", "0", []string{"aa"}, []string{"ra"}, "IN\tSOA\tns.gslb.test. hostmaster.gslb.test."},
		{"dig NODATA with SOA", dig, []string{"shop.gslb.test", "AAAA"}, "NOERROR", "0", []string{"aa"}, nil, "IN\tSOA\tns.gslb.test."},
		{"dig empty non-terminal is NODATA", dig, []string{"_status.big.gslb.test", "AAAA"}, "NOERROR", "0", []string{"aa"}, nil, "SOA"},
		{"dig REFUSED outside the zone", dig, []string{"example.com", "A"}, "REFUSED", "0", nil, []string{"aa", "ra"}, ""},
		{"dig SOA", dig, []string{"gslb.test", "SOA"}, "NOERROR", "1", []string{"aa"}, nil, "hostmaster.gslb.test."},
		{"dig NS", dig, []string{"gslb.test", "NS"}, "NOERROR", "1", []string{"aa"}, nil, "ns.gslb.test."},
		{"dig status TXT", dig, []string{"_status.shop.gslb.test", "TXT"}, "NOERROR", "1", []string{"aa"}, nil, `"app=shop"`},
		{"dig ANY is minimal", dig, []string{"shop.gslb.test", "ANY"}, "NOERROR", "1", []string{"aa"}, nil, `HINFO	"RFC8482" ""`},
		{"dig no EDNS truncates", dig, []string{"+noedns", "+ignore", "many.big.gslb.test", "A"}, "NOERROR", "", []string{"tc", "aa"}, nil, ""},
		{"dig EDNS 512 truncates", dig, []string{"+bufsize=512", "+ignore", "many.big.gslb.test", "A"}, "NOERROR", "", []string{"tc"}, nil, "udp: 1232"},
		{"dig EDNS 4096 fits", dig, []string{"+bufsize=4096", "many.big.gslb.test", "A"}, "NOERROR", "60", []string{"aa"}, []string{"tc"}, ""},
		{"dig retries truncated over TCP", dig, []string{"+noedns", "many.big.gslb.test", "A"}, "NOERROR", "60", []string{"aa"}, []string{"tc"}, "Truncated, retrying in TCP mode"},
		{"dig geo by client subnet", dig, []string{"+subnet=10.2.3.0/24", "near.gslb.test", "A"}, "NOERROR", "1", []string{"aa"}, nil, "CLIENT-SUBNET: 10.2.3.0/24/16"},
		{"dig geo answers the subnet's site", dig, []string{"+short", "+subnet=10.2.3.0/24", "near.gslb.test", "A"}, "", "", nil, nil, "127.0.0.2"},
		{"dig geo by source address", dig, []string{"near.gslb.test", "A"}, "NOERROR", "1", []string{"aa"}, nil, "127.0.0.2"},
		{"kdig geo by client subnet", kdig, []string{"+subnet=10.1.0.0/16", "near.gslb.test", "A"}, "NOERROR", "1", []string{"aa"}, nil, "127.0.0.1"},
		{"kdig UDP answer", kdig, []string{"shop.gslb.test", "A"}, "NOERROR", "1", []string{"qr", "aa"}, []string{"ra", "tc"}, "127.0.0.1"},
		{"kdig TCP answer", kdig, []string{"+tcp", "shop.gslb.test", "A"}, "NOERROR", "1", []string{"aa"}, []string{"ra"}, "(TCP)"},
		{"kdig NXDOMAIN", kdig, []string{"nope.gslb.test", "TXT"}, "NXDOMAIN", "0", []string{"aa"}, nil, "SOA"},
		{"kdig REFUSED", kdig, []string{"example.org", "A"}, "REFUSED", "0", nil, []string{"aa", "ra"}, ""},
		{"kdig EDNS 1232 fits", kdig, []string{"+bufsize=1232", "many.big.gslb.test", "A"}, "NOERROR", "60", []string{"aa"}, []string{"tc"}, ""},
		{"kdig no EDNS truncates", kdig, []string{"+noedns", "+ignore", "many.big.gslb.test", "A"}, "NOERROR", "", []string{"tc"}, nil, ""},
		{"kdig TCP carries it all", kdig, []string{"+tcp", "many.big.gslb.test", "A"}, "NOERROR", "60", nil, []string{"tc"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := c.tool(t, n, c.args...)
			re := digFlags
			if strings.HasPrefix(c.name, "kdig") {
				re = kdigFlags
			}
			if m := status.FindStringSubmatch(out); c.status != "" && (m == nil || m[1] != c.status) {
				t.Errorf("status %v, want %s\n%s", m, c.status, out)
			}
			if c.answers != "" {
				if m := answers.FindAllStringSubmatch(out, -1); m == nil || m[len(m)-1][1] != c.answers {
					t.Errorf("answers %v, want %s\n%s", m, c.answers, out)
				}
			}
			// With a TCP retry dig prints the truncated reply first: judge the last.
			flags := flagsOf(re, out[max(strings.LastIndex(out, "->>HEADER<<-"), 0):])
			for _, f := range c.flags {
				if !flags[f] {
					t.Errorf("flag %s clear, want set\n%s", f, out)
				}
			}
			for _, f := range c.noFlags {
				if flags[f] {
					t.Errorf("flag %s set, want clear\n%s", f, out)
				}
			}
			if !strings.Contains(out, c.contain) {
				t.Errorf("output lacks %q\n%s", c.contain, out)
			}
		})
	}
}
