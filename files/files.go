// Package files keeps the files users upload (blobs in ConnectyCube's
// words): the records, the rules of who may upload, read and delete them,
// and where their bytes live. The records are in the data store; the bytes
// go to a Bytes backend (the local file system, or S3-compatible storage),
// streamed, never held in memory whole.
package files

import (
	"context"
	"errors"
	"io"
	"time"
)

// Blob is one file's record.
type Blob struct {
	ID          int64
	UID         string // random and unguessable: the name the bytes are known by
	AppID       int64
	OwnerID     int64
	Name        string
	ContentType string
	Public      bool
	// Uploaded is set once the bytes are stored, with their Size; Complete
	// once the owner confirmed the upload. Blobs never completed are removed
	// after Limits.PendingTTL.
	Uploaded bool
	Complete bool
	Size     int64
	// Width and Height are an image's dimensions, 0 for other files.
	Width, Height int
	// Dialogs are the dialogs whose messages attach the file: their readers
	// may download it.
	Dialogs   []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Errors.
var (
	ErrNotFound  = errors.New("files: not found")
	ErrForbidden = errors.New("files: forbidden")
	// ErrConflict: the blob is not in the state the change needs (a second
	// upload or complete).
	ErrConflict = errors.New("files: conflict")
)

// Refusal is input a rule refuses, with what to do about it; Field names
// the offending field.
type Refusal struct {
	Field, Msg string
	TooLarge   bool // the file or the app's quota is exceeded
}

func (r *Refusal) Error() string { return r.Field + " " + r.Msg }

// Store keeps blob records.
type Store interface {
	// CreateBlob stores b and sets b.ID.
	CreateBlob(ctx context.Context, b *Blob) error
	Blob(ctx context.Context, app, id int64) (*Blob, error)
	BlobByUID(ctx context.Context, uid string) (*Blob, error)
	// MarkBlobUploaded records the stored bytes of a blob that has none yet
	// (else ErrConflict).
	MarkBlobUploaded(ctx context.Context, app, id, size int64, width, height int, at time.Time) error
	// CompleteBlob completes an uploaded blob that is not complete yet (else
	// ErrConflict).
	CompleteBlob(ctx context.Context, app, id int64, at time.Time) error
	RenameBlob(ctx context.Context, app, id int64, name string, at time.Time) error
	// AttachBlob adds dialog to the blob's Dialogs (once).
	AttachBlob(ctx context.Context, app, id int64, dialog string) error
	DeleteBlob(ctx context.Context, app, id int64) error
	// Blobs lists an owner's complete blobs, newest first, and counts them.
	Blobs(ctx context.Context, app, owner int64, limit, skip int) ([]Blob, int, error)
	// BlobUsage is the bytes an app's blobs take, complete or uploaded.
	BlobUsage(ctx context.Context, app int64) (int64, error)
	// PendingBlobs counts an owner's blobs not complete yet.
	PendingBlobs(ctx context.Context, app, owner int64) (int, error)
	// StaleBlobs lists blobs not complete that were created before before.
	StaleBlobs(ctx context.Context, before time.Time, limit int) ([]Blob, error)
}

// Bytes is where files' bytes live, by key.
type Bytes interface {
	// Write stores what r yields under key, whole or not at all: an error
	// (from r too) leaves nothing behind. size is what r will yield when
	// known, else -1 (a backend may then buffer a part at a time).
	Write(ctx context.Context, key string, r io.Reader, size int64) (int64, error)
	// Open reads a key's bytes, seekable (for ranges).
	Open(ctx context.Context, key string) (Content, error)
	// Remove deletes a key; a missing key is no error.
	Remove(ctx context.Context, key string) error
}

// Presigner is a bytes backend that can hand out a signed, expiring URL of
// its own for a key (S3), so a download need not pass through Parley.
type Presigner interface {
	PresignGet(ctx context.Context, key, filename, contentType string, ttl time.Duration) (string, error)
	// PresignPut is a signed PUT of exactly size bytes under key.
	PresignPut(ctx context.Context, key string, size int64, ttl time.Duration) (string, error)
	// Stat is the size of what key holds (ErrNotFound: nothing).
	Stat(ctx context.Context, key string) (int64, error)
}

// Content is a file's bytes being read.
type Content interface {
	io.ReadSeekCloser
}
