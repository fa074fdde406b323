package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/dialogs"
)

var (
	_ dialogs.Store = (*DB)(nil)
	_ dialogs.Users = (*DB)(nil)
)

const dialogCols = `d.app_id, d.id, d.type, d.owner_id, d.name, d.description, d.photo, d.occupants, d.admins, d.pinned, d.extensions,
	d.allow_preview, d.large, COALESCE(d.last_message, ''), COALESCE(d.last_message_id, ''), d.last_message_user_id, d.last_message_date,
	COALESCE(d.last_message_status, ''), d.seq, d.created_at, d.updated_at, COALESCE(d.room, ''), d.room_settings`

func scanDialog(sc interface{ Scan(...any) error }, extra ...any) (*dialogs.Dialog, string, error) {
	d, err := scanDialogRow(sc, extra...)
	if err != nil {
		return nil, "", err
	}
	return d, d.LastStatus, nil
}

func scanDialogRow(sc interface{ Scan(...any) error }, extra ...any) (*dialogs.Dialog, error) {
	var d dialogs.Dialog
	var occ, adm, pin string
	var ext sql.NullString
	var settings string
	var created, updated int64
	dest := append([]any{&d.AppID, &d.ID, &d.Type, &d.OwnerID, &d.Name, &d.Description, &d.Photo, &occ, &adm, &pin, &ext,
		&d.AllowPreview, &d.Large, &d.LastMessage, &d.LastMessageID, &d.LastMessageUserID, &d.LastMessageDate,
		&d.LastStatus, &d.Seq, &created, &updated, &d.Room, &settings}, extra...)
	if err := sc.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, dialogs.ErrNotFound
		}
		return nil, err
	}
	json.Unmarshal([]byte(occ), &d.Occupants)
	json.Unmarshal([]byte(adm), &d.Admins)
	json.Unmarshal([]byte(pin), &d.Pinned)
	if ext.Valid {
		json.Unmarshal([]byte(ext.String), &d.Extensions)
	}
	if settings != "" {
		json.Unmarshal([]byte(settings), &d.Settings)
	}
	d.CreatedAt, d.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return &d, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	if string(b) == "null" {
		return "[]"
	}
	return string(b)
}

func privateKey(d *dialogs.Dialog) any {
	if d.Type != dialogs.Private || len(d.Occupants) != 2 {
		return nil
	}
	a, b := d.Occupants[0], d.Occupants[1]
	if a > b {
		a, b = b, a
	}
	return strconv.FormatInt(a, 10) + ":" + strconv.FormatInt(b, 10)
}

func settingsText(d *dialogs.Dialog) string {
	b, _ := json.Marshal(d.Settings)
	if string(b) == "{}" {
		return ""
	}
	return string(b)
}

func extText(d *dialogs.Dialog) any {
	if d.Extensions == nil {
		return nil
	}
	b, _ := json.Marshal(d.Extensions)
	return string(b)
}

// CreateDialog implements dialogs.Store.
func (s *DB) CreateDialog(ctx context.Context, d *dialogs.Dialog) (*dialogs.Dialog, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var room any
	if d.Room != "" {
		room = d.Room
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO dialogs(app_id, id, type, owner_id, name, description, photo, occupants, occupants_count, admins, pinned,
		extensions, allow_preview, large, private_key, created_at, updated_at, room, room_settings) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
		d.AppID, d.ID, d.Type, d.OwnerID, d.Name, d.Description, d.Photo, jsonText(d.Occupants), len(d.Occupants), jsonText(d.Admins), jsonText(d.Pinned),
		extText(d), d.AllowPreview, d.Large, privateKey(d), d.CreatedAt.UnixNano(), d.UpdatedAt.UnixNano(), room, settingsText(d))
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if pk := privateKey(d); pk != nil {
			existing, _, err := scanDialog(tx.QueryRowContext(ctx, `SELECT `+dialogCols+` FROM dialogs d WHERE app_id=? AND private_key=?`, d.AppID, pk))
			return existing, err
		}
		if d.Room != "" {
			existing, _, err := scanDialog(tx.QueryRowContext(ctx, `SELECT `+dialogCols+` FROM dialogs d WHERE app_id=? AND room=?`, d.AppID, d.Room))
			return existing, err
		}
		return nil, fmt.Errorf("sqlite: dialog id %s already exists", d.ID)
	}
	if err := addMembers(ctx, tx, d.AppID, d.ID, d.Occupants); err != nil {
		return nil, err
	}
	return nil, tx.Commit()
}

func addMembers(ctx context.Context, tx *sql.Tx, app int64, id string, users []int64) error {
	for _, u := range users {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dialog_members(app_id, user_id, dialog_id, occupant) VALUES (?,?,?,1)
			ON CONFLICT(app_id, user_id, dialog_id) DO UPDATE SET occupant=1, hidden=0`, app, u, id); err != nil {
			return err
		}
	}
	return nil
}

// Dialog implements dialogs.Store.
func (s *DB) Dialog(ctx context.Context, app int64, id string) (*dialogs.Dialog, error) {
	d, _, err := scanDialog(s.queryRow(ctx, `SELECT `+dialogCols+` FROM dialogs d WHERE app_id=? AND id=?`, app, id)) // once per group message
	return d, err
}

// PrivateDialog implements dialogs.Store.
func (s *DB) PrivateDialog(ctx context.Context, app, a, b int64) (*dialogs.Dialog, error) {
	key := privateKey(&dialogs.Dialog{Type: dialogs.Private, Occupants: []int64{a, b}})
	d, _, err := scanDialog(s.db.QueryRowContext(ctx, `SELECT `+dialogCols+` FROM dialogs d WHERE app_id=? AND private_key=?`, app, key))
	return d, err
}

// UpdateDialog implements dialogs.Store.
func (s *DB) UpdateDialog(ctx context.Context, d *dialogs.Dialog, added, removed []int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := affectedDialog(tx.ExecContext(ctx, `UPDATE dialogs SET name=?, description=?, photo=?, occupants=?, occupants_count=?, admins=?, pinned=?,
		extensions=?, allow_preview=?, large=?, room_settings=?, updated_at=? WHERE app_id=? AND id=?`,
		d.Name, d.Description, d.Photo, jsonText(d.Occupants), len(d.Occupants), jsonText(d.Admins), jsonText(d.Pinned),
		extText(d), d.AllowPreview, d.Large, settingsText(d), d.UpdatedAt.UnixNano(), d.AppID, d.ID)); err != nil {
		return err
	}
	if err := addMembers(ctx, tx, d.AppID, d.ID, added); err != nil {
		return err
	}
	for _, u := range removed {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dialog_members WHERE app_id=? AND user_id=? AND dialog_id=?`, d.AppID, u, d.ID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func affectedDialog(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return dialogs.ErrNotFound
	}
	return nil
}

// DeleteDialog implements dialogs.Store.
func (s *DB) DeleteDialog(ctx context.Context, app int64, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := affectedDialog(tx.ExecContext(ctx, `DELETE FROM dialogs WHERE app_id=? AND id=?`, app, id)); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM dialog_members WHERE app_id=? AND dialog_id=?`,
		`DELETE FROM messages WHERE app_id=? AND dialog_id=?`,
		`DELETE FROM message_hidden WHERE app_id=? AND dialog_id=?`,
		`DELETE FROM reactions WHERE app_id=? AND dialog_id=?`,
	} {
		if _, err := tx.ExecContext(ctx, q, app, id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Member implements dialogs.Store.
func (s *DB) Member(ctx context.Context, app int64, id string, uid int64) (*dialogs.Member, error) {
	m := dialogs.Member{UserID: uid}
	err := s.queryRow(ctx, `SELECT max(read_seq, cleared_seq), hidden, notifications FROM dialog_members WHERE app_id=? AND user_id=? AND dialog_id=?`, app, uid, id).
		Scan(&m.ReadSeq, &m.Hidden, &m.Notifications)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dialogs.ErrNotFound
	}
	return &m, err
}

// SetMember implements dialogs.Store; a non-occupant gets a state-only row.
func (s *DB) SetMember(ctx context.Context, app int64, id string, m *dialogs.Member) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO dialog_members(app_id, user_id, dialog_id, occupant, read_seq, hidden, notifications) VALUES (?,?,?,0,?,?,?)
		ON CONFLICT(app_id, user_id, dialog_id) DO UPDATE SET read_seq=max(read_seq, excluded.read_seq), hidden=excluded.hidden, notifications=excluded.notifications`,
		app, m.UserID, id, m.ReadSeq, m.Hidden, m.Notifications)
	return err
}

// Occupants implements dialogs.Store.
func (s *DB) Occupants(ctx context.Context, app int64, id string, limit, skip int) ([]int64, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM dialog_members WHERE app_id=? AND dialog_id=? AND occupant=1`, app, id).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := column[int64](s.db.QueryContext(ctx, `SELECT user_id FROM dialog_members WHERE app_id=? AND dialog_id=? AND occupant=1 ORDER BY user_id LIMIT ? OFFSET ?`, app, id, limit, skip))
	return out, total, err
}

// Muted implements dialogs.Store.
func (s *DB) Muted(ctx context.Context, app int64, id string) ([]int64, error) {
	return column[int64](s.db.QueryContext(ctx, `SELECT user_id FROM dialog_members WHERE app_id=? AND dialog_id=? AND notifications=0`, app, id))
}

// MissingUsers implements dialogs.Users.
func (s *DB) MissingUsers(ctx context.Context, app int64, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{app}
	for _, id := range ids {
		args = append(args, id)
	}
	found, err := column[int64](s.db.QueryContext(ctx, `SELECT id FROM users WHERE app_id=? AND id IN (`+placeholders(len(ids))+`)`, args...))
	if err != nil {
		return nil, err
	}
	known := make(map[int64]bool, len(found))
	for _, id := range found {
		known[id] = true
	}
	var missing []int64
	for _, id := range ids {
		if !known[id] {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// column scans a one-column result; it takes QueryContext's results as they
// come so a call site stays one line.
func column[T any](rows *sql.Rows, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// dialogField maps a filter field to SQL and says how values are typed.
func dialogField(f string) (expr string, kind byte, ok bool) {
	switch f {
	case "_id":
		return "d.id", 's', true
	case "type":
		return "d.type", 'i', true
	case "name":
		return "d.name", 's', true
	case "last_message_date_sent":
		return "d.last_message_date", 't', true
	case "created_at":
		return "(d.created_at / 1000000000)", 't', true
	case "updated_at":
		return "(d.updated_at / 1000000000)", 't', true
	case "user_id":
		return "d.owner_id", 'i', true
	case "occupants_ids":
		return "d.occupants", 'a', true
	}
	if k, found := strings.CutPrefix(f, "extensions."); found && k != "" && !strings.ContainsAny(k, `"'\`) {
		return `json_extract(d.extensions, '$."` + k + `"')`, 's', true
	}
	return "", 0, false
}

// FilterError and ParseTime live in the domain; short names for this file.
type FilterError = dialogs.FilterError

// ParseTime is dialogs.ParseTime.
var ParseTime = dialogs.ParseTime

// condition renders one filter. Arrays ('a') hold JSON int lists.
func condition(expr string, kind byte, op string, vals []string) (string, []any, error) {
	conv := func(v string) (any, error) {
		switch kind {
		case 'i', 'a':
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, &FilterError{Msg: fmt.Sprintf("%q is not an integer", v)}
			}
			return n, nil
		case 't':
			n, err := ParseTime(strings.TrimSpace(v))
			if err != nil {
				return nil, &FilterError{Msg: err.Error()}
			}
			return n, nil
		}
		return v, nil
	}
	args := make([]any, 0, len(vals))
	for _, v := range vals {
		a, err := conv(v)
		if err != nil {
			return "", nil, err
		}
		args = append(args, a)
	}
	if len(args) == 0 {
		return "", nil, &FilterError{Msg: "filter without a value"}
	}
	if kind == 'a' {
		member := "EXISTS (SELECT 1 FROM json_each(" + expr + ") WHERE value = ?)"
		switch op {
		case "", "in":
			parts := make([]string, len(args))
			for i := range parts {
				parts[i] = member
			}
			return "(" + strings.Join(parts, " OR ") + ")", args, nil
		case "all":
			parts := make([]string, len(args))
			for i := range parts {
				parts[i] = member
			}
			return "(" + strings.Join(parts, " AND ") + ")", args, nil
		case "nin", "ne":
			parts := make([]string, len(args))
			for i := range parts {
				parts[i] = "NOT " + member
			}
			return "(" + strings.Join(parts, " AND ") + ")", args, nil
		}
		return "", nil, &FilterError{Msg: "operator " + op + " does not apply to an array"}
	}
	switch op {
	case "":
		return expr + " = ?", args[:1], nil
	case "lt", "lte", "gt", "gte", "ne":
		sym := map[string]string{"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "ne": "<>"}[op]
		return expr + " " + sym + " ?", args[:1], nil
	case "in", "all":
		return expr + " IN (" + placeholders(len(args)) + ")", args, nil
	case "nin":
		return "(" + expr + " IS NULL OR " + expr + " NOT IN (" + placeholders(len(args)) + "))", args, nil
	case "ctn":
		return expr + " LIKE ? ESCAPE '\\'", []any{"%" + likeEscape(fmt.Sprint(args[0])) + "%"}, nil
	}
	return "", nil, &FilterError{Msg: "unknown operator " + op}
}

var dialogSorts = map[string]string{"last_message_date_sent": "last_message_date", "created_at": "created_at", "updated_at": "updated_at", "name": "name"}

// Dialogs implements dialogs.Store: the viewer's dialogs plus the app's
// broadcast dialogs, each as the viewer sees it.
func (s *DB) Dialogs(ctx context.Context, app, viewer int64, q dialogs.Query) ([]dialogs.View, int, error) {
	var conds []string
	var args []any
	for _, f := range q.Filters {
		expr, kind, ok := dialogField(f.Field)
		if !ok {
			return nil, 0, &FilterError{Msg: "unknown filter field " + f.Field}
		}
		c, a, err := condition(expr, kind, f.Op, f.Values)
		if err != nil {
			return nil, 0, err
		}
		conds = append(conds, c)
		args = append(args, a...)
	}
	where := ""
	if len(conds) > 0 {
		where = " AND " + strings.Join(conds, " AND ")
	}
	cols := dialogCols + `, max(COALESCE(m.read_seq, 0), COALESCE(m.cleared_seq, 0)), COALESCE(m.notifications, 1)`
	union := `SELECT ` + cols + ` FROM dialog_members m JOIN dialogs d ON d.app_id = m.app_id AND d.id = m.dialog_id
		WHERE m.app_id = ? AND m.user_id = ? AND m.occupant = 1 AND m.hidden = 0` + where + `
		UNION ALL
		SELECT ` + cols + ` FROM dialogs d LEFT JOIN dialog_members m ON m.app_id = d.app_id AND m.dialog_id = d.id AND m.user_id = ?
		WHERE d.app_id = ? AND d.type = 4 AND (m.user_id IS NULL OR (m.occupant = 0 AND m.hidden = 0))` + where
	all := append(append([]any{app, viewer}, args...), append([]any{viewer, app}, args...)...)
	var total int
	if err := s.queryRowBuilt(ctx, `SELECT COUNT(*) FROM (`+union+`)`, all...).Scan(&total); err != nil {
		return nil, 0, err
	}
	sortCol, ok := dialogSorts[q.SortField]
	if !ok {
		sortCol = "last_message_date"
	}
	dir := "DESC"
	if q.SortAsc {
		dir = "ASC"
	}
	// Column positions in the union: 17 last_message_date, 20 created_at, 21 updated_at, 5 name.
	pos := map[string]string{"last_message_date": "17", "created_at": "20", "updated_at": "21", "name": "5"}[sortCol]
	rows, err := s.queryBuilt(ctx, union+` ORDER BY `+pos+` `+dir+`, 21 `+dir+` LIMIT ? OFFSET ?`, append(all, q.Limit, q.Skip)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []dialogs.View
	for rows.Next() {
		var readSeq int64
		var notif bool
		d, status, err := scanDialog(rows, &readSeq, &notif)
		if err != nil {
			return nil, 0, err
		}
		v := dialogs.View{Dialog: *d, Unread: max(d.Seq-readSeq, 0), Notifications: notif}
		if d.LastMessageUserID == viewer {
			v.LastMessageStatus = status
		}
		out = append(out, v)
	}
	return out, total, rows.Err()
}

// DialogByRoom implements dialogs.Store.
func (s *DB) DialogByRoom(ctx context.Context, app int64, room string) (*dialogs.Dialog, error) {
	d, _, err := scanDialog(s.queryRow(ctx, `SELECT `+dialogCols+` FROM dialogs d WHERE app_id=? AND room=?`, app, room))
	return d, err
}
