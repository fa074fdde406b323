package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/objects"
)

var _ objects.Store = (*DB)(nil)

// ObjectClass implements objects.Store.
func (s *DB) ObjectClass(ctx context.Context, app int64, name string) (*objects.Class, error) {
	var doc string
	err := s.queryRow(ctx, `SELECT doc FROM object_classes WHERE app_id=? AND name=?`, app, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, objects.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var c objects.Class
	return &c, json.Unmarshal([]byte(doc), &c)
}

// objectColumn is the SQL of a field: a column for the system fields, the
// JSON value for the declared ones (names are validated identifiers).
func objectColumn(field string) string {
	switch field {
	case "_id":
		return "id"
	case "user_id":
		return "owner_id"
	case "_parent_id":
		return "parent_id"
	case "created_at":
		return "created"
	case "updated_at":
		return "updated"
	}
	return `json_extract(doc, '$.` + field + `')`
}

// PutObjectClass implements objects.Store: every scalar field is indexed.
func (s *DB) PutObjectClass(ctx context.Context, c *objects.Class) error {
	doc, _ := json.Marshal(c)
	if _, err := s.exec(ctx, `INSERT INTO object_classes(app_id, name, doc) VALUES (?,?,?)
		ON CONFLICT(app_id, name) DO UPDATE SET doc=excluded.doc`, c.AppID, c.Name, string(doc)); err != nil {
		return err
	}
	for _, f := range c.Fields {
		if f.Type == objects.Array || f.Type == objects.Location {
			continue
		}
		name := "oi_" + strconv.FormatInt(c.AppID, 10) + "_" + c.Name + "_" + f.Name
		if _, err := s.db.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS "`+name+`" ON objects(app_id, class, `+objectColumn(f.Name)+`)`); err != nil {
			return err
		}
	}
	return nil
}

// ObjectClasses implements objects.Store.
func (s *DB) ObjectClasses(ctx context.Context, app int64) ([]objects.Class, error) {
	rows, err := s.query(ctx, `SELECT doc FROM object_classes WHERE app_id=? ORDER BY name`, app)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []objects.Class
	for rows.Next() {
		var doc string
		var c objects.Class
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(doc), &c)
		out = append(out, c)
	}
	return out, rows.Err()
}

// InsertObjects implements objects.Store.
func (s *DB) InsertObjects(ctx context.Context, app int64, class string, recs []objects.Record) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, r := range recs {
		doc, _ := json.Marshal(r.Fields)
		if _, err := tx.ExecContext(ctx, `INSERT INTO objects(app_id, class, id, owner_id, parent_id, created, updated, doc) VALUES (?,?,?,?,?,?,?,?)`,
			app, class, r.ID, r.OwnerID, r.Parent, r.Created.Unix(), r.Updated.Unix(), string(doc)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

const objectCols = `id, owner_id, parent_id, created, updated, doc`

func scanObjects(rows *sql.Rows) ([]objects.Record, error) {
	defer rows.Close()
	var out []objects.Record
	for rows.Next() {
		var r objects.Record
		var created, updated int64
		var doc string
		if err := rows.Scan(&r.ID, &r.OwnerID, &r.Parent, &created, &updated, &doc); err != nil {
			return nil, err
		}
		d := json.NewDecoder(strings.NewReader(doc))
		d.UseNumber()
		var f map[string]any
		d.Decode(&f)
		r.Fields = numbers(f)
		r.Created, r.Updated = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// numbers turns JSON numbers into int64 where they are whole, else float64.
func numbers(m map[string]any) map[string]any {
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				m[k] = i
			} else {
				f, _ := n.Float64()
				m[k] = f
			}
		}
	}
	return m
}

// Objects implements objects.Store.
func (s *DB) Objects(ctx context.Context, app int64, class string, ids []string) ([]objects.Record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{app, class}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := s.queryBuilt(ctx, `SELECT `+objectCols+` FROM objects WHERE app_id=? AND class=? AND id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	return scanObjects(rows)
}

// objectWhere renders a query's conditions. With an equality on some
// field, the other conditions' columns are written +col, which keeps the
// planner on the equality's index (each field has its own index, and
// without statistics SQLite would take a range's index, which can cover
// half the class).
func objectWhere(c *objects.Class, q objects.Query) (string, []any, bool) {
	where := []string{"app_id=?", "class=?"}
	args := []any{c.AppID, c.Name}
	ops := map[string]string{"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
	eq := ""
	for _, f := range q.Filters {
		if (f.Op == "eq" || f.Op == "in") && !isArrayField(c, f.Field) {
			eq = f.Field
			break
		}
	}
	for _, f := range q.Filters {
		col := objectColumn(f.Field)
		if eq != "" && f.Field != eq {
			col = "+" + col
		}
		isArray := false
		for _, fd := range c.Fields {
			if fd.Name == f.Field && fd.Type == objects.Array {
				isArray = true
			}
		}
		vals := make([]any, len(f.Values))
		for i, v := range f.Values {
			if b, ok := v.(bool); ok {
				vals[i] = map[bool]int{false: 0, true: 1}[b]
			} else if t, ok := v.(time.Time); ok {
				vals[i] = t.Unix()
			} else {
				vals[i] = v
			}
		}
		marks := "?" + strings.Repeat(",?", len(vals)-1)
		switch {
		case isArray:
			where = append(where, `EXISTS (SELECT 1 FROM json_each(doc, '$.`+f.Field+`') WHERE value IN (`+marks+`))`)
		case f.Op == "in":
			where = append(where, col+" IN ("+marks+")")
		case f.Op == "nin":
			where = append(where, col+" NOT IN ("+marks+")")
		default:
			where = append(where, col+" "+ops[f.Op]+" ?")
			vals = vals[:1]
		}
		args = append(args, vals...)
	}
	return strings.Join(where, " AND "), args, eq != ""
}

func isArrayField(c *objects.Class, name string) bool {
	for _, f := range c.Fields {
		if f.Name == name {
			return f.Type == objects.Array || f.Type == objects.Location
		}
	}
	return false
}

// FindObjects implements objects.Store.
func (s *DB) FindObjects(ctx context.Context, c *objects.Class, q objects.Query) ([]objects.Record, error) {
	where, args, eq := objectWhere(c, q)
	order := "created DESC, id"
	if q.Sort != "" {
		dir := "ASC"
		if q.Desc {
			dir = "DESC"
		}
		col := objectColumn(q.Sort)
		if eq {
			col = "+" + col // sort the equality's rows, rather than walk the sort's index
		}
		order = col + " " + dir + ", id"
	}
	rows, err := s.queryBuilt(ctx, `SELECT `+objectCols+` FROM objects WHERE `+where+` ORDER BY `+order+` LIMIT ? OFFSET ?`, append(args, q.Limit, q.Skip)...)
	if err != nil {
		return nil, err
	}
	return scanObjects(rows)
}

// CountObjects implements objects.Store.
func (s *DB) CountObjects(ctx context.Context, c *objects.Class, q objects.Query) (int, error) {
	where, args, _ := objectWhere(c, q)
	var n int
	err := s.queryRowBuilt(ctx, `SELECT COUNT(*) FROM objects WHERE `+where, args...).Scan(&n)
	return n, err
}

// UpdateObject implements objects.Store.
func (s *DB) UpdateObject(ctx context.Context, app int64, class string, r *objects.Record) error {
	doc, _ := json.Marshal(r.Fields)
	res, err := s.exec(ctx, `UPDATE objects SET doc=?, updated=? WHERE app_id=? AND class=? AND id=?`, string(doc), r.Updated.Unix(), app, class, r.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return objects.ErrNotFound
	}
	return nil
}

// DeleteObjects implements objects.Store.
func (s *DB) DeleteObjects(ctx context.Context, app int64, class string, ids []string) (int, error) {
	args := []any{app, class}
	for _, id := range ids {
		args = append(args, id)
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM objects WHERE app_id=? AND class=? AND id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
