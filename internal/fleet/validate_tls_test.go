package fleet

import (
	"strings"
	"testing"
)

// tlsBlock is a sound spec.tls for the base fleet's set: a CA and a certificate for
// every member.
const tlsBlock = `  tls:
    mode: verify-full
    ca: {file: pki/db-ca.crt}
    members:
      - {member: east-0, cert: {file: pki/east-0.crt}, key: {file: pki/east-0.key}}
      - {member: east-1, cert: {file: pki/east-1.crt}, key: {file: pki/east-1.key}}
      - {member: west-0, cert: {secret: {site: west, namespace: shop, name: west-0-tls, key: tls.crt}}, key: {secret: {site: west, namespace: shop, name: west-0-tls, key: tls.key}}}
`

// withTLS appends block to the base fleet's mirror set (its last lines).
func withTLS(block string) edit {
	return edit{"  replication:\n    synchronous: true\n", "  replication:\n    synchronous: true\n" + block}
}

func TestTLSValidation(t *testing.T) {
	base := baseFleet(t)
	for _, tc := range []struct {
		name  string
		edits []edit
		want  []string
	}{
		{"sound", []edit{withTLS(tlsBlock)}, nil},
		{"mode left out with a CA", []edit{withTLS(strings.Replace(tlsBlock, "    mode: verify-full\n", "", 1))}, nil},
		{"unknown mode", []edit{withTLS(strings.Replace(tlsBlock, "mode: verify-full", "mode: verify_full", 1))}, []string{
			set + `spec.tls.mode: "verify_full" is not one of verify-full, verify-ca, require, disable (did you mean "verify-full"?)`,
		}},
		{"verify without a CA", []edit{withTLS(strings.Replace(tlsBlock, "    ca: {file: pki/db-ca.crt}\n", "", 1))}, []string{
			set + `spec.tls.ca: required for mode verify-full: clients verify the members' certificates against it`,
		}},
		{"require without a CA", []edit{withTLS(strings.Replace(strings.Replace(tlsBlock, "    ca: {file: pki/db-ca.crt}\n", "", 1), "verify-full", "require", 1))}, nil},
		{"CA from two places", []edit{withTLS(strings.Replace(tlsBlock, "ca: {file: pki/db-ca.crt}", "ca: {file: pki/db-ca.crt, env: DB_CA}", 1))}, []string{
			set + `spec.tls.ca: set exactly one of file, env, secret (found 2)`,
		}},
		{"certificate of an unknown member", []edit{withTLS(strings.Replace(tlsBlock, "member: east-1", "member: east-2", 1))}, []string{
			set + `spec.tls.members[1].member: member "east-2" is not in spec.members (did you mean "east-0"?)`,
		}},
		{"two certificates for one member", []edit{withTLS(strings.Replace(tlsBlock, "member: east-1", "member: east-0", 1))}, []string{
			set + `spec.tls.members[1].member: member "east-0" already has its certificate at spec.tls.members[0]`,
		}},
		{"certificate without key", []edit{withTLS(strings.Replace(tlsBlock, ", key: {file: pki/east-0.key}", "", 1))}, []string{
			set + `spec.tls.members[0].key: required`,
		}},
		{"key in a Secret on an unknown site", []edit{withTLS(strings.Replace(tlsBlock, "{site: west, namespace: shop, name: west-0-tls, key: tls.key}", "{site: wset, namespace: shop, name: west-0-tls, key: tls.key}", 1))}, []string{
			set + `spec.tls.members[2].key.secret.site: site "wset" is not defined (did you mean "west"?)`,
		}},
		{"a member hadron runs without a certificate", []edit{
			{"      role: failover\n      address: {address: 10.1.1.11:5432}\n", "      role: failover\n      address: {address: 10.1.1.11:5432}\n      dataDir: /var/lib/hadron/east-1\n"},
			withTLS(strings.Replace(tlsBlock, "      - {member: east-1, cert: {file: pki/east-1.crt}, key: {file: pki/east-1.key}}\n", "", 1)),
		}, []string{
			set + `spec.members[1].dataDir: hadron runs member "east-1" with TLS (mode verify-full), so spec.tls.members needs its certificate`,
		}},
		{"disabled: no certificate needed", []edit{
			{"      role: failover\n      address: {address: 10.1.1.11:5432}\n", "      role: failover\n      address: {address: 10.1.1.11:5432}\n      dataDir: /var/lib/hadron/east-1\n"},
			withTLS("  tls: {mode: disable}\n"),
		}, nil},
		{"a member in a pod", []edit{
			{"      role: failover\n      address: {address: 10.1.1.11:5432}\n", "      role: failover\n      address: {address: 10.1.1.11:5432}\n      pod: {namespace: shop}\n"},
		}, nil},
		{"a member in a pod with a dataDir and no namespace", []edit{
			{"      role: failover\n      address: {address: 10.1.1.11:5432}\n", "      role: failover\n      address: {address: 10.1.1.11:5432}\n      dataDir: /var/lib/hadron/east-1\n      pod: {}\n"},
		}, []string{
			set + `spec.members[1].pod: member "east-1" runs in a pod, so it has no dataDir (its data is on the pod's volume)`,
			set + `spec.members[1].pod.namespace: required`,
		}},
		{"unknown field", []edit{withTLS("  tls: {mode: require, sslrootcert: x}\n")}, []string{
			set + `spec.tls.sslrootcert: unknown field`,
		}},
		{"replication as the superuser", []edit{{"    user: shop\n", "    user: shop\n    replicationUser: shop\n"}}, []string{
			set + `spec.credentials.replicationUser: "shop" is also spec.credentials.user: replication runs as its own role with only REPLICATION and pg_rewind's grants, never as the superuser (leave it out for "hadron_replication")`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, applyEdits(t, base, tc.edits))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestTLSModeDefault(t *testing.T) {
	f, err := Parse(Source{Name: "fleet.yaml", Data: []byte(applyEdits(t, baseFleet(t), []edit{withTLS(strings.Replace(tlsBlock, "    mode: verify-full\n", "", 1))}))})
	if err != nil {
		t.Fatal(err)
	}
	if m := f.MirrorSet("shop-db").Spec.TLS.Mode; m != "verify-full" {
		t.Fatalf("mode = %q, want verify-full (a CA is given)", m)
	}
}
