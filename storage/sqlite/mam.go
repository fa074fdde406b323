package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"strings"

	"github.com/parley-chat/parley/history"
)

var _ history.MAMStore = (*DB)(nil)

// ArchiveScan implements history.MAMStore. Every query names its index:
// with a bound on pk or seq the planner could otherwise prefer walking the
// table by rowid, or the date index and a sort, over the archive's order.
func (s *DB) ArchiveScan(ctx context.Context, r history.ArchiveRange) ([]history.Message, error) {
	if r.DialogID != "" {
		return s.dialogArchive(ctx, r)
	}
	return s.privateArchive(ctx, r)
}

// hiddenFrom is the condition that the viewer (the argument) has not
// deleted message m for themselves nor cleared the history up to it.
const hiddenFrom = ` AND m.seq > COALESCE((SELECT c.cleared_seq FROM dialog_members c WHERE c.app_id = m.app_id AND c.user_id = ? AND c.dialog_id = m.dialog_id), 0)
	AND NOT EXISTS (SELECT 1 FROM message_hidden h WHERE h.app_id = m.app_id AND h.user_id = ? AND h.dialog_id = m.dialog_id AND h.id = m.id)`

// archiveFilters adds the date and id conditions of r.
func archiveFilters(r history.ArchiveRange, args []any) (string, []any) {
	var b strings.Builder
	if !r.Start.IsZero() {
		b.WriteString(" AND m.date_sent >= ?")
		args = append(args, r.Start.Unix())
	}
	if !r.End.IsZero() {
		b.WriteString(" AND m.date_sent <= ?")
		args = append(args, r.End.Unix())
	}
	if len(r.IDs) > 0 {
		b.WriteString(" AND m.id IN (" + placeholders(len(r.IDs)) + ")")
		for _, id := range r.IDs {
			args = append(args, id)
		}
	}
	return b.String(), args
}

// bound runs a query for one archive position; none is (0, false).
func (s *DB) bound(ctx context.Context, query string, args ...any) (int64, bool, error) {
	var v int64
	err := s.queryRow(ctx, query, args...).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return v, err == nil, err
}

// dialogArchive scans one dialog between two seqs, on messages_seq.
func (s *DB) dialogArchive(ctx context.Context, r history.ArchiveRange) ([]history.Message, error) {
	lo, _, err := s.bound(ctx, `SELECT cleared_seq FROM dialog_members WHERE app_id=? AND user_id=? AND dialog_id=?`, r.AppID, r.Viewer, r.DialogID)
	if err != nil {
		return nil, err
	}
	hi := int64(math.MaxInt64)
	const anchor = `SELECT seq FROM messages WHERE app_id=? AND dialog_id=? AND id=?`
	if r.AfterID != "" {
		seq, ok, err := s.bound(ctx, anchor, r.AppID, r.DialogID, r.AfterID)
		if err != nil || !ok {
			return nil, cmpErr(err, history.ErrNotFound)
		}
		lo = max(lo, seq)
	}
	if r.BeforeID != "" {
		seq, ok, err := s.bound(ctx, anchor, r.AppID, r.DialogID, r.BeforeID)
		if err != nil || !ok {
			return nil, cmpErr(err, history.ErrNotFound)
		}
		hi = min(hi, seq)
	}
	// Date bounds as seq bounds (see history.ClockSlack): nothing stored
	// before the last message dated ClockSlack before Start is dated Start
	// or later; likewise after End.
	if !r.Start.IsZero() {
		seq, ok, err := s.bound(ctx, `SELECT seq FROM messages INDEXED BY messages_date WHERE app_id=? AND dialog_id=? AND date_sent < ? ORDER BY date_sent DESC LIMIT 1`,
			r.AppID, r.DialogID, r.Start.Add(-history.ClockSlack).Unix())
		if err != nil {
			return nil, err
		}
		if ok {
			lo = max(lo, seq)
		}
	}
	if !r.End.IsZero() {
		seq, ok, err := s.bound(ctx, `SELECT seq FROM messages INDEXED BY messages_date WHERE app_id=? AND dialog_id=? AND date_sent > ? ORDER BY date_sent LIMIT 1`,
			r.AppID, r.DialogID, r.End.Add(history.ClockSlack).Unix())
		if err != nil {
			return nil, err
		}
		if ok {
			hi = min(hi, seq)
		}
	}
	dir := "ASC"
	if r.Backward {
		dir = "DESC"
	}
	q, args := dialogArchiveQuery(r, lo, hi, dir)
	return s.archiveRows(ctx, q, args...)
}

// dialogArchiveQuery is the seq range of dialogArchive.
func dialogArchiveQuery(r history.ArchiveRange, lo, hi int64, dir string) (string, []any) {
	index := "messages_seq"
	if len(r.IDs) > 0 {
		index = "messages_id" // at most MaxIDs rows to sort
	}
	args := []any{r.AppID, r.DialogID, lo, hi, r.Viewer, r.Viewer}
	filters, args := archiveFilters(r, args)
	return `SELECT ` + msgCols + ` FROM messages m INDEXED BY ` + index + `
		WHERE m.app_id = ? AND m.dialog_id = ? AND m.seq > ? AND m.seq < ?` + hiddenFrom + filters + `
		ORDER BY m.seq ` + dir + ` LIMIT ?`, append(args, r.Limit)
}

// privateArchive scans the viewer's private messages between two pks: the
// newest (or oldest) Limit the viewer sent and the Limit they received,
// each an index range, merged.
func (s *DB) privateArchive(ctx context.Context, r history.ArchiveRange) ([]history.Message, error) {
	lo, hi := int64(0), int64(math.MaxInt64)
	// An id is unique only within its dialog: the newest of the viewer's.
	const anchor = `SELECT pk FROM messages INDEXED BY messages_by_id WHERE app_id=? AND id=? AND recipient_id <> 0 AND (sender_id=? OR recipient_id=?) ORDER BY pk DESC LIMIT 1`
	if r.AfterID != "" {
		pk, ok, err := s.bound(ctx, anchor, r.AppID, r.AfterID, r.Viewer, r.Viewer)
		if err != nil || !ok {
			return nil, cmpErr(err, history.ErrNotFound)
		}
		lo = pk
	}
	if r.BeforeID != "" {
		pk, ok, err := s.bound(ctx, anchor, r.AppID, r.BeforeID, r.Viewer, r.Viewer)
		if err != nil || !ok {
			return nil, cmpErr(err, history.ErrNotFound)
		}
		hi = pk
	}
	// Date bounds as pk bounds, over the app's private messages (see
	// dialogArchive).
	if !r.Start.IsZero() {
		pk, ok, err := s.bound(ctx, `SELECT pk FROM messages INDEXED BY messages_private_date WHERE app_id=? AND recipient_id <> 0 AND date_sent < ? ORDER BY date_sent DESC LIMIT 1`,
			r.AppID, r.Start.Add(-history.ClockSlack).Unix())
		if err != nil {
			return nil, err
		}
		if ok {
			lo = max(lo, pk)
		}
	}
	if !r.End.IsZero() {
		pk, ok, err := s.bound(ctx, `SELECT pk FROM messages INDEXED BY messages_private_date WHERE app_id=? AND recipient_id <> 0 AND date_sent > ? ORDER BY date_sent LIMIT 1`,
			r.AppID, r.End.Add(history.ClockSlack).Unix())
		if err != nil {
			return nil, err
		}
		if ok {
			hi = min(hi, pk)
		}
	}
	dir := "ASC"
	if r.Backward {
		dir = "DESC"
	}
	if len(r.IDs) > 0 {
		args := []any{r.AppID, r.Viewer, r.Viewer, lo, hi, r.Viewer, r.Viewer}
		filters, args := archiveFilters(r, args)
		return s.archiveRows(ctx, `SELECT `+msgCols+` FROM messages m INDEXED BY messages_by_id
			WHERE m.app_id = ? AND m.recipient_id <> 0 AND (m.sender_id = ? OR m.recipient_id = ?) AND m.pk > ? AND m.pk < ?`+hiddenFrom+filters+`
			ORDER BY m.pk `+dir+` LIMIT ?`, append(args, r.Limit)...)
	}
	q, args := privateArchiveQuery(r, lo, hi, dir)
	return s.archiveRows(ctx, q, args...)
}

// privateArchiveQuery is the merge of the two index ranges of
// privateArchive: each side stops at Limit, and only 2×Limit rows are
// sorted.
func privateArchiveQuery(r history.ArchiveRange, lo, hi int64, dir string) (string, []any) {
	var args []any
	side := func(col, index string) string {
		args = append(args, r.AppID, r.Viewer, lo, hi, r.Viewer, r.Viewer)
		var filters string
		filters, args = archiveFilters(r, args)
		args = append(args, r.Limit)
		return `SELECT * FROM (SELECT ` + msgCols + ` FROM messages m INDEXED BY ` + index + `
			WHERE m.app_id = ? AND m.` + col + ` = ? AND m.recipient_id <> 0 AND m.pk > ? AND m.pk < ?` + hiddenFrom + filters + `
			ORDER BY m.pk ` + dir + ` LIMIT ?)`
	}
	q := side("sender_id", "messages_private_sent") + ` UNION ALL ` + side("recipient_id", "messages_private_received") + ` ORDER BY pk ` + dir + ` LIMIT ?`
	return q, append(args, r.Limit)
}

func (s *DB) archiveRows(ctx context.Context, query string, args ...any) ([]history.Message, error) {
	return messageRows(s.queryBuilt(ctx, query, args...))
}

// messageRows reads every message of a query's rows.
func messageRows(rows *sql.Rows, err error) ([]history.Message, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []history.Message
	for rows.Next() {
		m, _, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

// cmpErr is err, or notFound when err is nil.
func cmpErr(err, notFound error) error {
	if err != nil {
		return err
	}
	return notFound
}

// ArchivePrefs implements history.MAMStore.
func (s *DB) ArchivePrefs(ctx context.Context, app, uid int64) (*history.ArchivePrefs, error) {
	var p history.ArchivePrefs
	var always, never string
	err := s.queryRow(ctx, `SELECT default_mode, always_jids, never_jids FROM archive_prefs WHERE app_id=? AND user_id=?`, app, uid).Scan(&p.Default, &always, &never)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, history.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(always), &p.Always); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(never), &p.Never); err != nil {
		return nil, err
	}
	return &p, nil
}

// SetArchivePrefs implements history.MAMStore.
func (s *DB) SetArchivePrefs(ctx context.Context, app, uid int64, p *history.ArchivePrefs) error {
	always, _ := json.Marshal(nonNil(p.Always))
	never, _ := json.Marshal(nonNil(p.Never))
	_, err := s.exec(ctx, `INSERT INTO archive_prefs(app_id, user_id, default_mode, always_jids, never_jids) VALUES (?,?,?,?,?)
		ON CONFLICT(app_id, user_id) DO UPDATE SET default_mode=excluded.default_mode, always_jids=excluded.always_jids, never_jids=excluded.never_jids`,
		app, uid, p.Default, string(always), string(never))
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
