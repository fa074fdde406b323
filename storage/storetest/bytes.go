package storetest

import (
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/storage/blobfs"
)

// FSBytes is a file-system bytes backend in a fresh directory, and a count
// of the files in it (temporary ones included).
func FSBytes(t *testing.T) (files.Bytes, func(t *testing.T) int) {
	root := t.TempDir()
	d, err := blobfs.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return d, func(t *testing.T) int {
		n := 0
		filepath.WalkDir(root, func(_ string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
}
