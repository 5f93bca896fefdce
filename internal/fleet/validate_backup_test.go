package fleet

import (
	"strings"
	"testing"
)

// backupBlock is a sound spec.backup for the base fleet's set: an S3 bucket with its
// keys and a cipher passphrase.
const backupBlock = `  backup:
    repository:
      s3: {endpoint: s3.witness.example, port: 9443, bucket: shop-db, region: us-east-1, pathStyle: true, ca: {file: pki/s3-ca.crt}, keyFrom: {env: S3_KEY}, keySecretFrom: {file: secrets/s3-secret}}
    cipherPassFrom: {file: secrets/cipher-pass}
    retention: {full: 2}
    archiveTimeout: 30s
`

func TestBackupValidation(t *testing.T) {
	base := baseFleet(t)
	for _, tc := range []struct {
		name  string
		block string
		want  []string
	}{
		{"sound", backupBlock, nil},
		{"a directory", "  backup: {repository: {path: /srv/backups}, cipherPassFrom: {env: CIPHER}}\n", nil},
		{"no repository", "  backup: {repository: {}, cipherPassFrom: {env: CIPHER}}\n", []string{
			set + `spec.backup.repository: set one of path, s3`,
		}},
		{"both repositories", "  backup: {repository: {path: /srv/b, s3: {endpoint: e, bucket: b, region: r, keyFrom: {env: K}, keySecretFrom: {env: S}}}, cipherPassFrom: {env: CIPHER}}\n", []string{
			set + `spec.backup.repository: set one of path, s3 (found both)`,
		}},
		{"unencrypted", strings.Replace(backupBlock, "    cipherPassFrom: {file: secrets/cipher-pass}\n", "", 1), []string{
			set + `spec.backup.cipherPassFrom: required: the repository is encrypted at rest (aes-256-cbc)`,
		}},
		{"S3 without bucket or secret key", strings.Replace(strings.Replace(backupBlock, "bucket: shop-db, ", "", 1), ", keySecretFrom: {file: secrets/s3-secret}", "", 1), []string{
			set + `spec.backup.repository.s3.bucket: required`,
			set + `spec.backup.repository.s3.keySecretFrom: required`,
		}},
		{"key from two places", strings.Replace(backupBlock, "keyFrom: {env: S3_KEY}", "keyFrom: {env: S3_KEY, file: k}", 1), []string{
			set + `spec.backup.repository.s3.keyFrom: set exactly one of file, env, secret (found 2)`,
		}},
		{"negative retention and a tiny timeout", strings.Replace(strings.Replace(backupBlock, "full: 2", "full: -1", 1), "30s", "10ms", 1), []string{
			set + `spec.backup.archiveTimeout: 10ms is under a second`,
			set + `spec.backup.retention.full: -1 is negative`,
		}},
		{"a schedule and a lag bound", backupBlock + "    schedule: {full: 168h, incremental: 1h}\n    archiveLagBound: 2m\n", nil},
		{"the store as regions reach it", strings.Replace(backupBlock, "pathStyle: true,", "pathStyle: true, fromRegions: {us-east-1: \"127.1.3.60:9443\", us-west-2: s3-west, eu-central-1: \"s3:99999\"},", 1), []string{
			set + `spec.backup.repository.s3.fromRegions.eu-central-1: "s3:99999": "99999" is not a TCP port`,
			set + `spec.backup.repository.s3.fromRegions.us-west-2: "s3-west" is not host:port`,
		}},
		{"only incremental backups", backupBlock + "    schedule: {incremental: 30m}\n", nil},
		{"an empty schedule", backupBlock + "    schedule: {}\n", []string{
			set + `spec.backup.schedule: set full, incremental or both`,
		}},
		{"intervals not positive", backupBlock + "    schedule: {full: 0s, incremental: -1h}\n    archiveLagBound: 0s\n", []string{
			set + `spec.backup.archiveLagBound: must be positive`,
			set + `spec.backup.schedule.full: must be positive`,
			set + `spec.backup.schedule.incremental: must be positive`,
		}},
		{"incremental not shorter than full", backupBlock + "    schedule: {full: 24h, incremental: 24h}\n", []string{
			set + `spec.backup.schedule.incremental: 24h0m0s is not shorter than full (24h0m0s)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, applyEdits(t, base, []edit{withTLS(tc.block)}))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestRestoreWhenNoMemberNeedsAsync: a restore from the archive loses the archive lag,
// so a set whose applications promise bounded or synchronous may not opt in.
func TestRestoreWhenNoMemberNeedsAsync(t *testing.T) {
	base := baseFleet(t)
	block := backupBlock + "    restoreWhenNoMember: true\n"
	for _, tc := range []struct {
		name, mode string
		want       []string
	}{
		{"async", "{mode: async}", nil},
		{"no mode (async)", "", nil},
		{"bounded", "{mode: bounded, bound: 200ms}", []string{
			app + `spec.policy.dataLoss.mode: mode bounded promises more than a restore from the archive keeps, but mirror set "shop-db" sets spec.backup.restoreWhenNoMember (use mode async, or restore by hand)`,
		}},
		{"synchronous", "{mode: synchronous}", []string{
			app + `spec.policy.dataLoss.mode: mode synchronous promises more than a restore from the archive keeps, but mirror set "shop-db" sets spec.backup.restoreWhenNoMember (use mode async, or restore by hand)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edits := []edit{withTLS(block)}
			if tc.mode != "" {
				edits = append(edits, edit{"    rpo: 0s\n", "    rpo: 0s\n    dataLoss: " + tc.mode + "\n"})
			}
			got := problems(t, applyEdits(t, base, edits))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
