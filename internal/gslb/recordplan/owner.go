package recordplan

import (
	"strings"
)

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
