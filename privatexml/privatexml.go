// Package privatexml keeps XML documents a user stores for itself on the
// server (XEP-0049 Private XML Storage: bookmarks, client settings), and the
// server's other per-user documents (the user's vCard), each under a key
// (namespace and element name), bounded in size and number.
package privatexml

import (
	"context"
	"errors"
	"strconv"
)

// Owner names a user of an app.
type Owner struct{ AppID, UserID int64 }

// ErrNotFound: no document under that key.
var ErrNotFound = errors.New("privatexml: not found")

// Refusal is a document the limits refuse.
type Refusal struct{ Msg string }

func (r *Refusal) Error() string { return "privatexml: " + r.Msg }

// Store keeps the documents.
type Store interface {
	// PrivateXML returns the document under key, or ErrNotFound.
	PrivateXML(ctx context.Context, o Owner, key string) (string, error)
	// PutPrivateXML stores doc under key, replacing any.
	PutPrivateXML(ctx context.Context, o Owner, key, doc string) error
	// CountPrivateXML counts the owner's documents.
	CountPrivateXML(ctx context.Context, o Owner) (int, error)
	// DeletePrivateXML removes every document of the owner.
	DeletePrivateXML(ctx context.Context, o Owner) error
}

// Limits bound what one user stores.
type Limits struct {
	MaxBytes int // of one document
	MaxDocs  int // per user
}

// DefaultLimits are the limits of a new installation.
func DefaultLimits() Limits { return Limits{MaxBytes: 64 << 10, MaxDocs: 100} }

// Storage applies the limits.
type Storage struct {
	store  Store
	limits Limits
}

// New returns a Storage with the default limits.
func New(s Store) *Storage { return &Storage{store: s, limits: DefaultLimits()} }

// SetLimits replaces the limits (before serving).
func (s *Storage) SetLimits(l Limits) { s.limits = l }

// Key names a document by its root element.
func Key(ns, local string) string { return "{" + ns + "}" + local }

// Get returns a document ("" when there is none).
func (s *Storage) Get(ctx context.Context, o Owner, key string) (string, error) {
	doc, err := s.store.PrivateXML(ctx, o, key)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return doc, err
}

// Put stores a document (the caller checked it is well-formed XML with
// that root).
func (s *Storage) Put(ctx context.Context, o Owner, key, doc string) error {
	if s.limits.MaxBytes > 0 && len(doc) > s.limits.MaxBytes {
		return &Refusal{"a stored document is at most " + strconv.Itoa(s.limits.MaxBytes) + " bytes"}
	}
	if s.limits.MaxDocs > 0 {
		if _, err := s.store.PrivateXML(ctx, o, key); errors.Is(err, ErrNotFound) {
			n, err := s.store.CountPrivateXML(ctx, o)
			if err != nil {
				return err
			}
			if n >= s.limits.MaxDocs {
				return &Refusal{"a user stores at most " + strconv.Itoa(s.limits.MaxDocs) + " documents"}
			}
		}
	}
	return s.store.PutPrivateXML(ctx, o, key, doc)
}

// ForgetUser implements accounts.UserData: a deleted user's documents go.
func (s *Storage) ForgetUser(ctx context.Context, app, user int64) error {
	return s.store.DeletePrivateXML(ctx, Owner{app, user})
}
