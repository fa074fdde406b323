package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
)

var _ history.Store = (*DB)(nil)

const msgCols = `m.pk, m.app_id, m.dialog_id, m.id, m.seq, m.sender_id, m.recipient_id, m.body, m.date_sent, m.attachments, m.custom, m.read_ids, m.delivered_ids, m.created_at, m.updated_at`

func scanMessage(sc interface{ Scan(...any) error }, extra ...any) (*history.Message, int64, error) {
	var m history.Message
	var pk int64
	var att, custom sql.NullString
	var readIDs, delivIDs string
	var created, updated int64
	dest := append([]any{&pk, &m.AppID, &m.DialogID, &m.ID, &m.Seq, &m.SenderID, &m.RecipientID, &m.Body, &m.DateSent, &att, &custom, &readIDs, &delivIDs, &created, &updated}, extra...)
	if err := sc.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, 0, history.ErrNotFound
		}
		return nil, 0, err
	}
	if att.Valid {
		json.Unmarshal([]byte(att.String), &m.Attachments)
	}
	if custom.Valid {
		json.Unmarshal([]byte(custom.String), &m.Custom)
	}
	json.Unmarshal([]byte(readIDs), &m.ReadIDs)
	json.Unmarshal([]byte(delivIDs), &m.DeliveredIDs)
	m.CreatedAt, m.UpdatedAt = fromNano(created), fromNano(updated)
	return &m, pk, nil
}

func nullJSON(v any, empty bool) any {
	if empty {
		return nil
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// AppendMessage implements history.Store. One transaction: the message,
// the dialog's sequence and last message, the sender's read position and,
// for private dialogs, un-hiding it for both users. O(1) writes whatever the
// number of occupants.
func (s *DB) AppendMessage(ctx context.Context, m *history.Message) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	// Every statement here runs once per stored message: prepared once.
	exec := func(query string, args ...any) (sql.Result, error) {
		st, err := s.txStmt(ctx, tx, query)
		if err != nil {
			return nil, err
		}
		return st.ExecContext(ctx, args...)
	}
	st, err := s.txStmt(ctx, tx, `SELECT seq, type FROM dialogs WHERE app_id=? AND id=?`)
	if err != nil {
		return false, err
	}
	var seq int64
	var typ int
	if err := st.QueryRowContext(ctx, m.AppID, m.DialogID).Scan(&seq, &typ); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, history.ErrNotFound
		}
		return false, err
	}
	var types []string
	for _, a := range m.Attachments {
		if t := a["type"]; t != "" {
			types = append(types, t)
		}
	}
	res, err := exec(`INSERT INTO messages(app_id, dialog_id, id, seq, sender_id, recipient_id, body, date_sent, attachments, attachment_types, custom, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(app_id, dialog_id, id) DO NOTHING`,
		m.AppID, m.DialogID, m.ID, seq+1, m.SenderID, m.RecipientID, m.Body, m.DateSent,
		nullJSON(m.Attachments, len(m.Attachments) == 0), ","+strings.Join(types, ",")+",", nullJSON(m.Custom, len(m.Custom) == 0),
		unixNano(m.CreatedAt), unixNano(m.UpdatedAt))
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	m.Seq = seq + 1
	preview := m.Body
	if preview == "" && len(m.Attachments) > 0 {
		preview = "Attachment"
	}
	if _, err := exec(`UPDATE dialogs SET seq=?, last_message=?, last_message_id=?, last_message_user_id=?, last_message_date=?, last_message_status='sent', updated_at=?
		WHERE app_id=? AND id=?`, m.Seq, preview, m.ID, m.SenderID, m.DateSent, unixNano(m.CreatedAt), m.AppID, m.DialogID); err != nil {
		return false, err
	}
	// Sending implies having read the dialog so far.
	if _, err := exec(`UPDATE dialog_members SET read_seq=? WHERE app_id=? AND user_id=? AND dialog_id=?`, m.Seq, m.AppID, m.SenderID, m.DialogID); err != nil {
		return false, err
	}
	if dialogs.Type(typ) == dialogs.Private {
		if _, err := exec(`UPDATE dialog_members SET hidden=0 WHERE app_id=? AND dialog_id=? AND hidden=1`, m.AppID, m.DialogID); err != nil {
			return false, err
		}
	}
	return true, tx.Commit()
}

// Message implements history.Store.
func (s *DB) Message(ctx context.Context, app int64, dialogID, id string) (*history.Message, error) {
	m, _, err := scanMessage(s.db.QueryRowContext(ctx, `SELECT `+msgCols+` FROM messages m WHERE app_id=? AND dialog_id=? AND id=?`, app, dialogID, id))
	return m, err
}

// FindMessage implements history.Store.
func (s *DB) FindMessage(ctx context.Context, app, viewer int64, id string) (*history.Message, error) {
	m, _, err := scanMessage(s.db.QueryRowContext(ctx, `SELECT `+msgCols+` FROM messages m WHERE m.app_id=? AND m.id=?
		AND EXISTS (SELECT 1 FROM dialog_members dm WHERE dm.app_id=m.app_id AND dm.user_id=? AND dm.dialog_id=m.dialog_id AND dm.occupant=1)
		ORDER BY m.pk DESC LIMIT 1`, app, id, viewer))
	return m, err
}

func messageField(f string) (string, byte, bool) {
	switch f {
	case "_id":
		return "m.id", 's', true
	case "message":
		return "m.body", 's', true
	case "date_sent":
		return "m.date_sent", 't', true
	case "sender_id":
		return "m.sender_id", 'i', true
	case "recipient_id":
		return "m.recipient_id", 'i', true
	case "updated_at":
		return "(m.updated_at / 1000000000)", 't', true
	case "created_at":
		return "(m.created_at / 1000000000)", 't', true
	}
	return "", 0, false
}

// Messages implements history.Store.
func (s *DB) Messages(ctx context.Context, app, viewer int64, dialogID string, q history.Query) ([]history.Message, error) {
	conds := []string{"m.app_id = ?", "m.dialog_id = ?",
		"m.seq > COALESCE((SELECT cleared_seq FROM dialog_members WHERE app_id = m.app_id AND user_id = ? AND dialog_id = m.dialog_id), 0)",
		"NOT EXISTS (SELECT 1 FROM message_hidden h WHERE h.app_id = m.app_id AND h.user_id = ? AND h.dialog_id = m.dialog_id AND h.id = m.id)"}
	args := []any{app, dialogID, viewer, viewer}
	for _, f := range q.Filters {
		if f.Field == "attachments.type" {
			var parts []string
			for _, v := range f.Values {
				parts = append(parts, "m.attachment_types LIKE ?")
				args = append(args, "%,"+likeEscape(v)+",%")
			}
			if len(parts) > 0 {
				conds = append(conds, "("+strings.Join(parts, " OR ")+")")
			}
			continue
		}
		expr, kind, ok := messageField(f.Field)
		if !ok {
			return nil, &FilterError{Msg: "unknown filter field " + f.Field}
		}
		c, a, err := condition(expr, kind, f.Op, f.Values)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
		args = append(args, a...)
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	var readSeq int64 // stays 0 for a viewer who is not a member (a broadcast dialog)
	err := s.queryRow(ctx, `SELECT max(read_seq, cleared_seq) FROM dialog_members WHERE app_id=? AND user_id=? AND dialog_id=?`, app, viewer, dialogID).Scan(&readSeq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	rows, err := s.queryBuilt(ctx, `SELECT `+msgCols+` FROM messages m WHERE `+strings.Join(conds, " AND ")+` ORDER BY m.seq `+dir+` LIMIT ? OFFSET ?`,
		append(args, q.Limit, q.Skip)...)
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
		m.Read = m.SenderID == viewer || m.Seq <= readSeq || slices.Contains(m.ReadIDs, viewer)
		out = append(out, *m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.attachReactions(ctx, app, dialogID, out)
}

// attachReactions fills Reactions for a page with one query.
func (s *DB) attachReactions(ctx context.Context, app int64, dialogID string, msgs []history.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	args := []any{app, dialogID}
	idx := map[string]int{}
	for i := range msgs {
		args = append(args, msgs[i].ID)
		idx[msgs[i].ID] = i
	}
	rows, err := s.queryBuilt(ctx, `SELECT message_id, reaction, user_id FROM reactions WHERE app_id=? AND dialog_id=? AND message_id IN (`+placeholders(len(msgs))+`) ORDER BY created_at`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, r string
		var uid int64
		if err := rows.Scan(&id, &r, &uid); err != nil {
			return err
		}
		m := &msgs[idx[id]]
		if m.Reactions == nil {
			m.Reactions = map[string][]int64{}
		}
		m.Reactions[r] = append(m.Reactions[r], uid)
	}
	return rows.Err()
}

// Receipt implements history.Store.
func (s *DB) Receipt(ctx context.Context, app int64, d *dialogs.Dialog, uid int64, kind string, ids []string) error {
	col := "delivered_ids"
	if kind == history.Read {
		col = "read_ids"
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var seq int64
	var lastID string
	var lastUser int64
	if err := tx.QueryRowContext(ctx, `SELECT seq, COALESCE(last_message_id, ''), last_message_user_id FROM dialogs WHERE app_id=? AND id=?`, app, d.ID).Scan(&seq, &lastID, &lastUser); err != nil {
		return err
	}
	var readSeq int64
	tx.QueryRowContext(ctx, `SELECT read_seq FROM dialog_members WHERE app_id=? AND user_id=? AND dialog_id=?`, app, uid, d.ID).Scan(&readSeq)
	target := []any{app, d.ID}
	sel := "m.app_id = ? AND m.dialog_id = ?"
	if len(ids) > 0 {
		sel += " AND m.id IN (" + placeholders(len(ids)) + ")"
		for _, id := range ids {
			target = append(target, id)
		}
	} else if kind == history.Read {
		sel += " AND m.seq > ?"
		target = append(target, readSeq)
	}
	if !d.Large {
		// Per-message ids, only below the large-dialog size.
		if _, err := tx.ExecContext(ctx, `UPDATE messages AS m SET `+col+` = json_insert(`+col+`, '$[#]', ?) WHERE `+sel+
			` AND m.sender_id <> ? AND NOT EXISTS (SELECT 1 FROM json_each(m.`+col+`) WHERE value = ?)`,
			append(append([]any{uid}, target...), uid, uid)...); err != nil {
			return err
		}
	}
	if kind == history.Read {
		upTo := seq
		if len(ids) > 0 {
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(m.seq), 0) FROM messages m WHERE `+sel, target...).Scan(&upTo); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO dialog_members(app_id, user_id, dialog_id, occupant, read_seq) VALUES (?,?,?,0,?)
			ON CONFLICT(app_id, user_id, dialog_id) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq)`, app, uid, d.ID, upTo); err != nil {
			return err
		}
	}
	// The last message's status as its sender sees it.
	touchesLast := lastID != "" && lastUser != uid && (len(ids) == 0 || slices.Contains(ids, lastID))
	if touchesLast {
		st := "delivered"
		cond := "last_message_status IS NULL OR last_message_status = 'sent'"
		if kind == history.Read {
			st, cond = "read", "1=1"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dialogs SET last_message_status=? WHERE app_id=? AND id=? AND (`+cond+`)`, st, app, d.ID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// EditMessage implements history.Store.
func (s *DB) EditMessage(ctx context.Context, app int64, dialogID, id, body string, at time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE messages SET body=?, updated_at=? WHERE app_id=? AND dialog_id=? AND id=?`, body, unixNano(at), app, dialogID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return history.ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, `UPDATE dialogs SET last_message=? WHERE app_id=? AND id=? AND last_message_id=?`, body, app, dialogID, id); err != nil {
		return err
	}
	return tx.Commit()
}

// DeleteMessages implements history.Store.
func (s *DB) DeleteMessages(ctx context.Context, app int64, dialogID string, ids []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE app_id=? AND dialog_id=? AND id=?`, app, dialogID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM reactions WHERE app_id=? AND dialog_id=? AND message_id=?`, app, dialogID, id); err != nil {
			return err
		}
	}
	// If the last message went, the previous one becomes the last.
	var lastID string
	tx.QueryRowContext(ctx, `SELECT COALESCE(last_message_id, '') FROM dialogs WHERE app_id=? AND id=?`, app, dialogID).Scan(&lastID)
	if slices.Contains(ids, lastID) {
		var id, body string
		var sender, date int64
		err := tx.QueryRowContext(ctx, `SELECT id, body, sender_id, date_sent FROM messages WHERE app_id=? AND dialog_id=? ORDER BY seq DESC LIMIT 1`, app, dialogID).Scan(&id, &body, &sender, &date)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.ExecContext(ctx, `UPDATE dialogs SET last_message=NULL, last_message_id=NULL, last_message_user_id=0, last_message_date=0, last_message_status=NULL WHERE app_id=? AND id=?`, app, dialogID)
		} else if err == nil {
			_, err = tx.ExecContext(ctx, `UPDATE dialogs SET last_message=?, last_message_id=?, last_message_user_id=?, last_message_date=? WHERE app_id=? AND id=?`, body, id, sender, date, app, dialogID)
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// HideMessages implements history.Store.
func (s *DB) HideMessages(ctx context.Context, app, uid int64, dialogID string, ids []string) error {
	for _, id := range ids {
		if _, err := s.db.ExecContext(ctx, `INSERT INTO message_hidden(app_id, user_id, dialog_id, id) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`, app, uid, dialogID, id); err != nil {
			return err
		}
	}
	return nil
}

// ClearHistory implements history.Store.
func (s *DB) ClearHistory(ctx context.Context, app, uid int64, dialogID string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO dialog_members(app_id, user_id, dialog_id, occupant, cleared_seq, read_seq)
		SELECT ?, ?, ?, 0, seq, seq FROM dialogs WHERE app_id=? AND id=?
		ON CONFLICT(app_id, user_id, dialog_id) DO UPDATE SET cleared_seq = excluded.cleared_seq, read_seq = max(read_seq, excluded.read_seq)`,
		app, uid, dialogID, app, dialogID)
	return err
}

// React implements history.Store.
func (s *DB) React(ctx context.Context, app int64, m *history.Message, uid int64, add, remove string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if remove != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM reactions WHERE app_id=? AND dialog_id=? AND message_id=? AND reaction=? AND user_id=?`, app, m.DialogID, m.ID, remove, uid); err != nil {
			return err
		}
	}
	if add != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO reactions(app_id, dialog_id, message_id, user_id, reaction, created_at) VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
			app, m.DialogID, m.ID, uid, add, time.Now().UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Reactions implements history.Store.
func (s *DB) Reactions(ctx context.Context, app int64, dialogID, id string) (map[string][]int64, error) {
	msgs := []history.Message{{ID: id}}
	if err := s.attachReactions(ctx, app, dialogID, msgs); err != nil {
		return nil, err
	}
	if msgs[0].Reactions == nil {
		return map[string][]int64{}, nil
	}
	return msgs[0].Reactions, nil
}

// UnreadCounts implements history.Store.
func (s *DB) UnreadCounts(ctx context.Context, app, uid int64, dialogIDs []string) (map[string]int64, error) {
	q := `SELECT d.id, max(d.seq - max(m.read_seq, m.cleared_seq), 0) FROM dialog_members m JOIN dialogs d ON d.app_id=m.app_id AND d.id=m.dialog_id
		WHERE m.app_id=? AND m.user_id=? AND m.occupant=1`
	args := []any{app, uid}
	if len(dialogIDs) > 0 {
		q += ` AND m.dialog_id IN (` + placeholders(len(dialogIDs)) + `)`
		for _, id := range dialogIDs {
			args = append(args, id)
		}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// Search implements history.Store: FTS5 with the trigram tokenizer gives
// substring matches (3 characters or more); shorter text falls back to LIKE.
func (s *DB) Search(ctx context.Context, app, uid int64, q history.SearchQuery) ([]history.Message, error) {
	conds := []string{"m.app_id = ?", "m.dialog_id IN (SELECT dialog_id FROM dialog_members WHERE app_id = ? AND user_id = ? AND occupant = 1)",
		"NOT EXISTS (SELECT 1 FROM message_hidden h WHERE h.app_id = m.app_id AND h.user_id = ? AND h.dialog_id = m.dialog_id AND h.id = m.id)",
		// What "clear history" hid from the searcher stays hidden here too.
		"m.seq > (SELECT cleared_seq FROM dialog_members c WHERE c.app_id = m.app_id AND c.user_id = ? AND c.dialog_id = m.dialog_id)"}
	args := []any{app, app, uid, uid, uid}
	from := "messages m"
	if len([]rune(q.Text)) >= 3 {
		from = "messages_fts f JOIN messages m ON m.pk = f.rowid"
		conds = append([]string{"messages_fts MATCH ?"}, conds...)
		args = append([]any{`"` + strings.ReplaceAll(q.Text, `"`, `""`) + `"`}, args...)
	} else {
		conds = append(conds, "m.body LIKE ? ESCAPE '\\'")
		args = append(args, "%"+likeEscape(q.Text)+"%")
	}
	if len(q.DialogIDs) > 0 {
		conds = append(conds, "m.dialog_id IN ("+placeholders(len(q.DialogIDs))+")")
		for _, id := range q.DialogIDs {
			args = append(args, id)
		}
	}
	if !q.Start.IsZero() {
		conds = append(conds, "m.date_sent >= ?")
		args = append(args, q.Start.Unix())
	}
	if !q.End.IsZero() {
		conds = append(conds, "m.date_sent <= ?")
		args = append(args, q.End.Unix())
	}
	return messageRows(s.db.QueryContext(ctx, `SELECT `+msgCols+` FROM `+from+` WHERE `+strings.Join(conds, " AND ")+` ORDER BY m.pk DESC LIMIT ?`, append(args, q.Limit)...))
}
