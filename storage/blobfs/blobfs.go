// Package blobfs keeps files' bytes on the local file system, under one
// directory: each key is a file in a subdirectory named by the key's first
// two characters. Writes go to a temporary file, synced and renamed into
// place, so a key holds whole bytes or none.
package blobfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/parley-chat/parley/files"
)

// Dir is a directory of files' bytes.
type Dir struct{ root string }

var _ files.Bytes = (*Dir)(nil)

// Open uses (and creates) root. Temporary files a crash left behind are
// removed: the directory belongs to this one node.
func Open(root string) (*Dir, error) {
	tmp := filepath.Join(root, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("blobfs: %w", err)
	}
	if left, err := os.ReadDir(tmp); err == nil {
		for _, e := range left {
			os.Remove(filepath.Join(tmp, e.Name()))
		}
	}
	return &Dir{root: root}, nil
}

// path places a key; only keys of [a-z0-9_-] are taken, so none can leave
// the directory.
func (d *Dir) path(key string) (string, error) {
	if len(key) < 3 || len(key) > 128 {
		return "", errors.New("blobfs: bad key")
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "", errors.New("blobfs: bad key")
		}
	}
	return filepath.Join(d.root, key[:2], key), nil
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Write implements files.Bytes.
func (d *Dir) Write(ctx context.Context, key string, r io.Reader, _ int64) (int64, error) {
	final, err := d.path(key)
	if err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "up-*")
	if err != nil {
		return 0, err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, ctxReader{ctx, r})
	if err != nil {
		return n, err
	}
	if err := tmp.Sync(); err != nil {
		return n, err
	}
	if err := tmp.Close(); err != nil {
		return n, err
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return n, err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return n, err
	}
	done = true
	return n, nil
}

// Open implements files.Bytes.
func (d *Dir) Open(_ context.Context, key string) (files.Content, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, files.ErrNotFound
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, files.ErrNotFound
	}
	return f, err
}

// Remove implements files.Bytes.
func (d *Dir) Remove(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
