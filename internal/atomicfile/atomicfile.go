// Package atomicfile replaces files so that a reader sees the old content or the new,
// never a truncated or half-written one — a process that reads a file while another
// rewrites it (two lab sites starting at once, a daemon reloading its certificates)
// otherwise reads nothing.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write writes b to path with mode through a new temporary file beside it (unique
// across processes and goroutines) and a rename.
func Write(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
