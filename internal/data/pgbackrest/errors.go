package pgbackrest

import "errors"

// ErrNoBackup: the repository holds no backup of the stanza (restore has nothing to
// start from).
var ErrNoBackup = errors.New("no backup in the repository")
