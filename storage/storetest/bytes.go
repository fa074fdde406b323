package storetest

import (
	"context"
	"io/fs"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/storage/blobfs"
	"github.com/parley-chat/parley/storage/blobs3"
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

// S3Bytes is a bytes backend on a fresh bucket of the test S3 server (one
// per top-level test), and a count of the objects in it.
func S3Bytes(srv func(t *testing.T) testenv.S3Server) func(t *testing.T) (files.Bytes, func(t *testing.T) int) {
	return func(t *testing.T) (files.Bytes, func(t *testing.T) int) {
		s := srv(t)
		b, err := blobs3.Open(context.Background(), blobs3.Config{Endpoint: s.Endpoint, Region: s.Region, AccessKey: s.AccessKey,
			SecretKey: s.SecretKey, Bucket: "parley-test-" + strconv.FormatInt(time.Now().UnixNano(), 36),
			PathStyle: true, CreateBucket: true})
		if err != nil {
			t.Fatal(err)
		}
		return b, func(t *testing.T) int {
			n, err := b.Count(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
}

// SharedS3 starts one S3 server for a top-level test and hands it to
// each subtest.
func SharedS3(t *testing.T) func(t *testing.T) testenv.S3Server {
	s := testenv.S3(t)
	return func(*testing.T) testenv.S3Server { return s }
}
