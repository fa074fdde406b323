package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/parley-chat/parley/files"
)

var _ files.Store = (*DB)(nil)

const blobCols = `id, uid, app_id, owner_id, name, content_type, public, uploaded, complete, size, width, height, dialogs, created_at, updated_at`

func scanBlob(r scanner) (*files.Blob, error) {
	var b files.Blob
	var dl string
	var created, updated int64
	if err := r.Scan(&b.ID, &b.UID, &b.AppID, &b.OwnerID, &b.Name, &b.ContentType, &b.Public, &b.Uploaded, &b.Complete, &b.Size,
		&b.Width, &b.Height, &dl, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, files.ErrNotFound
		}
		return nil, err
	}
	json.Unmarshal([]byte(dl), &b.Dialogs)
	b.CreatedAt, b.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return &b, nil
}

// CreateBlob implements files.Store.
func (s *DB) CreateBlob(ctx context.Context, b *files.Blob) error {
	res, err := s.exec(ctx, `INSERT INTO blobs(uid, app_id, owner_id, name, content_type, public, size, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)`,
		b.UID, b.AppID, b.OwnerID, b.Name, b.ContentType, b.Public, b.Size, b.CreatedAt.UnixNano(), b.UpdatedAt.UnixNano())
	if err != nil {
		return err
	}
	b.ID, err = res.LastInsertId()
	return err
}

// Blob implements files.Store.
func (s *DB) Blob(ctx context.Context, app, id int64) (*files.Blob, error) {
	return scanBlob(s.queryRow(ctx, `SELECT `+blobCols+` FROM blobs WHERE app_id=? AND id=?`, app, id))
}

// BlobByUID implements files.Store.
func (s *DB) BlobByUID(ctx context.Context, uid string) (*files.Blob, error) {
	return scanBlob(s.queryRow(ctx, `SELECT `+blobCols+` FROM blobs WHERE uid=?`, uid))
}

// blobChange runs a conditional update: ErrNotFound without the blob,
// ErrConflict when it is in another state.
func (s *DB) blobChange(ctx context.Context, app, id int64, res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.Blob(ctx, app, id); err != nil {
		return err
	}
	return files.ErrConflict
}

// MarkBlobUploaded implements files.Store.
func (s *DB) MarkBlobUploaded(ctx context.Context, app, id, size int64, width, height int, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE blobs SET uploaded=1, size=?, width=?, height=?, updated_at=? WHERE app_id=? AND id=? AND uploaded=0`,
		size, width, height, at.UnixNano(), app, id)
	return s.blobChange(ctx, app, id, res, err)
}

// CompleteBlob implements files.Store.
func (s *DB) CompleteBlob(ctx context.Context, app, id int64, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE blobs SET complete=1, updated_at=? WHERE app_id=? AND id=? AND uploaded=1 AND complete=0`, at.UnixNano(), app, id)
	return s.blobChange(ctx, app, id, res, err)
}

// RenameBlob implements files.Store.
func (s *DB) RenameBlob(ctx context.Context, app, id int64, name string, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE blobs SET name=?, updated_at=? WHERE app_id=? AND id=?`, name, at.UnixNano(), app, id)
	return s.blobChange(ctx, app, id, res, err)
}

// AttachBlob implements files.Store.
func (s *DB) AttachBlob(ctx context.Context, app, id int64, dialog string) error {
	res, err := s.exec(ctx, `UPDATE blobs SET dialogs=json_insert(dialogs, '$[#]', ?) WHERE app_id=? AND id=?
		AND NOT EXISTS (SELECT 1 FROM json_each(blobs.dialogs) WHERE value=?)`, dialog, app, id, dialog)
	if err := s.blobChange(ctx, app, id, res, err); err != nil && !errors.Is(err, files.ErrConflict) {
		return err
	}
	return nil
}

// DeleteBlob implements files.Store.
func (s *DB) DeleteBlob(ctx context.Context, app, id int64) error {
	res, err := s.exec(ctx, `DELETE FROM blobs WHERE app_id=? AND id=?`, app, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return files.ErrNotFound
	}
	return nil
}

// Blobs implements files.Store.
func (s *DB) Blobs(ctx context.Context, app, owner int64, limit, skip int) ([]files.Blob, int, error) {
	var total int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM blobs WHERE app_id=? AND owner_id=? AND complete=1`, app, owner).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.query(ctx, `SELECT `+blobCols+` FROM blobs WHERE app_id=? AND owner_id=? AND complete=1 ORDER BY id DESC LIMIT ? OFFSET ?`, app, owner, limit, skip)
	if err != nil {
		return nil, 0, err
	}
	out, err := scanBlobs(rows)
	return out, total, err
}

func scanBlobs(rows *sql.Rows) ([]files.Blob, error) {
	defer rows.Close()
	var out []files.Blob
	for rows.Next() {
		b, err := scanBlob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
	}
	return out, rows.Err()
}

// BlobUsage implements files.Store.
func (s *DB) BlobUsage(ctx context.Context, app int64) (int64, error) {
	var n int64
	err := s.queryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM blobs WHERE app_id=? AND uploaded=1`, app).Scan(&n)
	return n, err
}

// StaleBlobs implements files.Store.
func (s *DB) StaleBlobs(ctx context.Context, before time.Time, limit int) ([]files.Blob, error) {
	rows, err := s.query(ctx, `SELECT `+blobCols+` FROM blobs WHERE complete=0 AND created_at<? ORDER BY created_at LIMIT ?`, before.UnixNano(), limit)
	if err != nil {
		return nil, err
	}
	return scanBlobs(rows)
}

// PendingBlobs implements files.Store.
func (s *DB) PendingBlobs(ctx context.Context, app, owner int64) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM blobs WHERE app_id=? AND owner_id=? AND complete=0`, app, owner).Scan(&n)
	return n, err
}
