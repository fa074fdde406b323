package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// prepareDataDir makes dir private to the server's user: the directory
// 0700 and every file in it 0600, also when it existed with looser modes
// (an older version, a careless copy). It holds the embedded database, the
// admin token, the first app's auth key and the TLS key.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := tighten(dir, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := tighten(filepath.Join(dir, e.Name()), 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// tighten removes the permission bits of path that perm does not have.
func tighten(path string, perm fs.FileMode) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if st.Mode().Perm()&^perm == 0 {
		return nil
	}
	if err := os.Chmod(path, st.Mode().Perm()&perm); err != nil {
		return fmt.Errorf("data dir: make %s private: %w", path, err)
	}
	return nil
}

// writeSecretFile writes a secret (a token, a key) to path, readable by the
// server's user only.
func writeSecretFile(path, secret string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // the file may have existed
		f.Close()
		return err
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readSecretFile reads a secret written by writeSecretFile or an operator;
// surrounding white space is dropped. A missing file is os.ErrNotExist.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}
