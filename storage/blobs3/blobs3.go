// Package blobs3 keeps files' bytes in S3-compatible object storage (AWS
// S3, SeaweedFS, Ceph, Garage...) through minio-go, for cluster mode: every
// node reads what any node wrote. An object appears whole or not at all
// (S3 semantics); an upload of unknown length goes up in parts of PartSize
// bytes, the memory one upload takes.
package blobs3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/parley-chat/parley/files"
)

// Config names a bucket and how to reach it.
type Config struct {
	Endpoint  string // host:port
	Region    string
	Bucket    string
	AccessKey string
	SecretKey string
	TLS       bool
	PathStyle bool   // bucket in the path, not the host name (most self-hosted servers)
	Prefix    string // of every key, e.g. "parley/"
	// PartSize is the size of each part of an upload of unknown length
	// (at least 5 MiB, S3's minimum); 0 means 5 MiB.
	PartSize uint64
	// CreateBucket makes the bucket when it does not exist.
	CreateBucket bool
}

// Bucket is a bytes backend on one bucket.
type Bucket struct {
	c      *minio.Client
	bucket string
	prefix string
	part   uint64
}

var _ files.Bytes = (*Bucket)(nil)

// Open connects and checks the bucket.
func Open(ctx context.Context, cfg Config) (*Bucket, error) {
	lookup := minio.BucketLookupDNS
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.TLS,
		Region:       cfg.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: bucket %s at %s: %w", cfg.Bucket, cfg.Endpoint, err)
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, fmt.Errorf("s3: bucket %s does not exist at %s (create it, or pass --s3-create-bucket)", cfg.Bucket, cfg.Endpoint)
		}
		if err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
			return nil, fmt.Errorf("s3: create bucket %s: %w", cfg.Bucket, err)
		}
	}
	part := cfg.PartSize
	if part < 5<<20 {
		part = 5 << 20
	}
	return &Bucket{c: c, bucket: cfg.Bucket, prefix: cfg.Prefix, part: part}, nil
}

// failing keeps the first error of the source other than EOF: minio-go
// reads parts with io.ReadFull and takes io.ErrUnexpectedEOF for a short
// last part, which is also what a cut-off HTTP body returns.
type failing struct {
	r   io.Reader
	err error
}

var errCut = errors.New("s3: the upload was cut off")

func (f *failing) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && err != io.EOF {
		if f.err == nil {
			f.err = err
		}
		return n, errCut
	}
	return n, err
}

// Write implements files.Bytes. A known size streams (with chunked
// signatures over plain HTTP); an unknown one goes up a part at a time, one
// part in memory.
func (b *Bucket) Write(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	src := &failing{r: r}
	// A known size goes up in one streamed PUT (files are far below S3's
	// 5 GiB single-PUT limit): parts would each be buffered.
	opts := minio.PutObjectOptions{PartSize: b.part, ContentType: "application/octet-stream", DisableMultipart: size >= 0}
	info, err := b.c.PutObject(ctx, b.bucket, b.prefix+key, src, size, opts)
	if err == nil && src.err != nil {
		err = src.err
	}
	if err != nil {
		// An upload cut short leaves no object (S3 writes whole objects);
		// a half-written one, should a server keep it, is removed.
		b.c.RemoveObject(context.WithoutCancel(ctx), b.bucket, b.prefix+key, minio.RemoveObjectOptions{})
		return info.Size, err
	}
	return info.Size, nil
}

// Open implements files.Bytes: the object, read by ranged requests as it
// is read and sought.
func (b *Bucket) Open(ctx context.Context, key string) (files.Content, error) {
	if _, err := b.c.StatObject(ctx, b.bucket, b.prefix+key, minio.StatObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, files.ErrNotFound
		}
		return nil, err
	}
	return b.c.GetObject(ctx, b.bucket, b.prefix+key, minio.GetObjectOptions{})
}

// Remove implements files.Bytes.
func (b *Bucket) Remove(ctx context.Context, key string) error {
	err := b.c.RemoveObject(ctx, b.bucket, b.prefix+key, minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return nil
	}
	return err
}

// PresignGet implements files.Presigner: a signed GET of the object that
// names the file and its type in the response.
func (b *Bucket) PresignGet(ctx context.Context, key, filename, contentType string, ttl time.Duration) (string, error) {
	q := url.Values{}
	q.Set("response-content-type", contentType)
	q.Set("response-content-disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	u, err := b.c.PresignedGetObject(ctx, b.bucket, b.prefix+key, ttl, q)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// PresignPut implements files.Presigner: a signed PUT whose Content-Length
// is signed too, so the bucket takes exactly size bytes.
func (b *Bucket) PresignPut(ctx context.Context, key string, size int64, ttl time.Duration) (string, error) {
	h := http.Header{}
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	u, err := b.c.PresignHeader(ctx, http.MethodPut, b.bucket, b.prefix+key, ttl, nil, h)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Stat implements files.Presigner.
func (b *Bucket) Stat(ctx context.Context, key string) (int64, error) {
	info, err := b.c.StatObject(ctx, b.bucket, b.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return 0, files.ErrNotFound
		}
		return 0, err
	}
	return info.Size, nil
}

// Count lists how many objects the bucket holds under the prefix (tests:
// nothing left behind).
func (b *Bucket) Count(ctx context.Context) (int, error) {
	n := 0
	for o := range b.c.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix, Recursive: true}) {
		if o.Err != nil {
			return n, o.Err
		}
		n++
	}
	return n, nil
}
