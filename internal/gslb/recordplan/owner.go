package recordplan

import (
	"errors"
	"strconv"
	"strings"
)

// ErrStale refuses a write by a leader whose token is lower than the one the provider
// already holds for the owner: a deposed leader's late write.
var ErrStale = errors.New("a newer leader has written: this leader is deposed")

// fencePrefix names an owner's fence record, _hadron-fence.<owner>.<zone>: one per
// owner, so that two fleets sharing a zone never contend for one record set.
const fencePrefix = "_hadron-fence."

// fenceKey starts the text of a fence record.
const fenceKey = "hadron-fence="

// FenceName is the name of owner's fence record in zone.
func FenceName(owner, zone string) string {
	return fencePrefix + strings.ToLower(owner) + "." + strings.ToLower(zone)
}

// FenceText is the TXT value of a fence at token.
func FenceText(token int64) string { return fenceKey + strconv.FormatInt(token, 10) }

// ParseFence reads a fence record of zone: the owner and its token.
func ParseFence(name, zone string, txt []string) (owner string, token int64, ok bool) {
	name, zone = strings.ToLower(name), strings.ToLower(zone)
	if !strings.HasPrefix(name, fencePrefix) || !strings.HasSuffix(name, "."+zone) || len(txt) != 1 || !strings.HasPrefix(txt[0], fenceKey) {
		return "", 0, false
	}
	owner = strings.TrimSuffix(strings.TrimPrefix(name, fencePrefix), "."+zone)
	v, err := strconv.ParseInt(strings.TrimPrefix(txt[0], fenceKey), 10, 64)
	if err != nil || owner == "" || strings.Contains(owner, ".") {
		return "", 0, false
	}
	return owner, v, true
}

// ownerPrefix starts the name of an ownership record: _hadron-<type>.<name>, one per
// record set, so that the owner of an A set and of an AAAA set of one name are told
// apart and a CNAME never shares its name with the ownership TXT.
const ownerPrefix = "_hadron-"

// ownerKey starts the text of an ownership TXT record.
const ownerKey = "hadron-owner="

// OwnerName is the name of the ownership record of r.
func OwnerName(r Record) string {
	return ownerPrefix + strings.ToLower(r.Type) + "." + r.Name
}

// OwnerText is the TXT value that marks owner's records.
func OwnerText(owner string) string { return ownerKey + owner }

// ParseOwner reads an ownership record: the record set it guards (name and type) and
// its owner. ok is false for any other TXT record.
func ParseOwner(name string, txt []string) (setName, setType, owner string, ok bool) {
	name = strings.ToLower(name)
	if !strings.HasPrefix(name, ownerPrefix) || len(txt) != 1 || !strings.HasPrefix(txt[0], ownerKey) {
		return "", "", "", false
	}
	typ, rest, found := strings.Cut(strings.TrimPrefix(name, ownerPrefix), ".")
	if !found || rest == "" {
		return "", "", "", false
	}
	return rest, strings.ToUpper(typ), strings.TrimPrefix(txt[0], ownerKey), true
}
