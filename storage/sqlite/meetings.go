package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/parley-chat/parley/meetings"
)

var _ meetings.Store = (*DB)(nil)

// PutMeeting implements meetings.Store.
func (s *DB) PutMeeting(ctx context.Context, m *meetings.Meeting) error {
	doc, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO meetings(app_id, id, host_id, public, start, doc) VALUES (?,?,?,?,?,?)
		ON CONFLICT(app_id, id) DO UPDATE SET public=excluded.public, start=excluded.start, doc=excluded.doc`,
		m.AppID, m.ID, m.HostID, m.Public, m.Start, string(doc)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM meeting_attendees WHERE app_id=? AND meeting_id=?`, m.AppID, m.ID); err != nil {
		return err
	}
	for _, a := range m.Attendees {
		if a.ID > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO meeting_attendees(app_id, meeting_id, user_id) VALUES (?,?,?)`, m.AppID, m.ID, a.ID); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

func scanMeeting(r scanner) (*meetings.Meeting, error) {
	var doc string
	if err := r.Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, meetings.ErrNotFound
		}
		return nil, err
	}
	var m meetings.Meeting
	return &m, json.Unmarshal([]byte(doc), &m)
}

// Meeting implements meetings.Store.
func (s *DB) Meeting(ctx context.Context, app int64, id string) (*meetings.Meeting, error) {
	return scanMeeting(s.queryRow(ctx, `SELECT doc FROM meetings WHERE app_id=? AND id=?`, app, id))
}

// Meetings implements meetings.Store.
func (s *DB) Meetings(ctx context.Context, app, user int64, limit int) ([]meetings.Meeting, error) {
	rows, err := s.query(ctx, `SELECT doc FROM meetings WHERE app_id=? AND (host_id=? OR public=1 OR id IN
		(SELECT meeting_id FROM meeting_attendees WHERE app_id=? AND user_id=?)) ORDER BY start DESC, id LIMIT ?`, app, user, app, user, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meetings.Meeting
	for rows.Next() {
		m, err := scanMeeting(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

// CountHosted implements meetings.Store.
func (s *DB) CountHosted(ctx context.Context, app, user int64) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM meetings WHERE app_id=? AND host_id=?`, app, user).Scan(&n)
	return n, err
}

// DeleteMeeting implements meetings.Store.
func (s *DB) DeleteMeeting(ctx context.Context, app int64, id string) error {
	res, err := s.exec(ctx, `DELETE FROM meetings WHERE app_id=? AND id=?`, app, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return meetings.ErrNotFound
	}
	_, err = s.exec(ctx, `DELETE FROM meeting_attendees WHERE app_id=? AND meeting_id=?`, app, id)
	return err
}

// PutWhiteboard implements meetings.Store.
func (s *DB) PutWhiteboard(ctx context.Context, w *meetings.Whiteboard) error {
	doc, err := json.Marshal(w)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO whiteboards(app_id, id, dialog_id, doc) VALUES (?,?,?,?)
		ON CONFLICT(app_id, id) DO UPDATE SET doc=excluded.doc`, w.AppID, w.ID, w.DialogID, string(doc))
	return err
}

func scanWhiteboard(r scanner) (*meetings.Whiteboard, error) {
	var doc string
	if err := r.Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, meetings.ErrNotFound
		}
		return nil, err
	}
	var w meetings.Whiteboard
	return &w, json.Unmarshal([]byte(doc), &w)
}

// Whiteboard implements meetings.Store.
func (s *DB) Whiteboard(ctx context.Context, app int64, id string) (*meetings.Whiteboard, error) {
	return scanWhiteboard(s.queryRow(ctx, `SELECT doc FROM whiteboards WHERE app_id=? AND id=?`, app, id))
}

// Whiteboards implements meetings.Store.
func (s *DB) Whiteboards(ctx context.Context, app int64, dialog string) ([]meetings.Whiteboard, error) {
	rows, err := s.query(ctx, `SELECT doc FROM whiteboards WHERE app_id=? AND dialog_id=? ORDER BY id`, app, dialog)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meetings.Whiteboard
	for rows.Next() {
		w, err := scanWhiteboard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *w)
	}
	return out, rows.Err()
}

// DeleteWhiteboard implements meetings.Store.
func (s *DB) DeleteWhiteboard(ctx context.Context, app int64, id string) error {
	res, err := s.exec(ctx, `DELETE FROM whiteboards WHERE app_id=? AND id=?`, app, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return meetings.ErrNotFound
	}
	return nil
}
