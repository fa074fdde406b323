// Package objects keeps custom objects (ConnectyCube's /data/<Class>.json):
// classes an app's operator defines with typed fields and permissions, and
// the records users create in them, filtered, sorted and updated with
// ConnectyCube's operators.
package objects

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Field types.
const (
	String   = "string"
	Integer  = "integer"
	Float    = "float"
	Boolean  = "boolean"
	Array    = "array"
	Date     = "date"     // unix seconds
	Location = "location" // [longitude, latitude]
	File     = "file"     // a file's uid
)

// Access levels of a permission.
const (
	Open  = "open"
	Owner = "owner"
)

// Field is one declared field.
type Field struct {
	Name string `json:"name" bson:"name"`
	Type string `json:"type" bson:"type"`
}

// Class is a class of records.
type Class struct {
	AppID  int64   `json:"app_id" bson:"app_id"`
	Name   string  `json:"name" bson:"name"`
	Fields []Field `json:"fields" bson:"fields"`
	// Read, Update and Delete are open or owner.
	Read   string `json:"read" bson:"read"`
	Update string `json:"update" bson:"update"`
	Delete string `json:"delete" bson:"delete"`
}

func (c *Class) field(name string) (Field, bool) {
	i := slices.IndexFunc(c.Fields, func(f Field) bool { return f.Name == name })
	if i < 0 {
		return Field{}, false
	}
	return c.Fields[i], true
}

// Record is one record.
type Record struct {
	ID      string
	OwnerID int64
	Parent  string
	Fields  map[string]any
	Created time.Time
	Updated time.Time
}

// Filter is one condition: a field (declared, or _id, user_id, _parent_id,
// created_at, updated_at), an operator and typed values.
type Filter struct {
	Field  string
	Op     string // eq ne gt gte lt lte in nin
	Values []any
}

// Query lists records.
type Query struct {
	Filters     []Filter
	Sort        string
	Desc        bool
	Limit, Skip int
}

// Errors.
var (
	ErrNotFound  = errors.New("objects: not found")
	ErrForbidden = errors.New("objects: forbidden")
)

// Refusal is input the rules refuse, by field.
type Refusal struct{ Field, Msg string }

func (r *Refusal) Error() string { return r.Field + " " + r.Msg }

// Store keeps classes and records.
type Store interface {
	ObjectClass(ctx context.Context, app int64, name string) (*Class, error)
	// PutObjectClass stores a class and indexes its fields.
	PutObjectClass(ctx context.Context, c *Class) error
	ObjectClasses(ctx context.Context, app int64) ([]Class, error)
	InsertObjects(ctx context.Context, app int64, class string, recs []Record) error
	Objects(ctx context.Context, app int64, class string, ids []string) ([]Record, error)
	FindObjects(ctx context.Context, c *Class, q Query) ([]Record, error)
	CountObjects(ctx context.Context, c *Class, q Query) (int, error)
	UpdateObject(ctx context.Context, app int64, class string, r *Record) error
	DeleteObjects(ctx context.Context, app int64, class string, ids []string) (int, error)
}

// Bounds.
const (
	MaxFields      = 64
	MaxBatch       = 100 // records in one multi call, ids in one read or delete
	MaxString      = 10_000
	MaxArray       = 1000
	MaxPage        = 1000
	MaxRecordBytes = 64 << 10
	// MaxPerUser bounds the records one user owns in one class.
	MaxPerUser = 100_000
)

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// System fields every record has.
var system = map[string]string{"_id": String, "user_id": Integer, "_parent_id": String, "created_at": Date, "updated_at": Date}

// Files tells whether a user may read an uploaded file: a file field
// must name one (a uid of the file store).
type Files interface {
	Readable(ctx context.Context, app, user int64, uid string) bool
}

// Service applies the rules.
type Service struct {
	store Store
	now   func() time.Time
	// Files, when set, checks file fields.
	Files Files
	// PerUser bounds the records a user owns in a class (MaxPerUser).
	PerUser int
}

// NewService returns a Service.
func NewService(s Store) *Service { return &Service{store: s, now: time.Now, PerUser: MaxPerUser} }

// DefineClass creates or redefines a class (the operator).
func (s *Service) DefineClass(ctx context.Context, c *Class) error {
	if !nameRE.MatchString(c.Name) {
		return &Refusal{"name", "is a letter then letters, digits or _ (64 at most)"}
	}
	if len(c.Fields) > MaxFields {
		return &Refusal{"fields", "at most " + strconv.Itoa(MaxFields)}
	}
	seen := map[string]bool{}
	for _, f := range c.Fields {
		switch {
		case !nameRE.MatchString(f.Name) || system[f.Name] != "" || seen[f.Name]:
			return &Refusal{"fields", f.Name + " is not a usable field name"}
		case !slices.Contains([]string{String, Integer, Float, Boolean, Array, Date, Location, File}, f.Type):
			return &Refusal{"fields", f.Name + ": the type " + f.Type + " is not one of string, integer, float, boolean, array, date, location, file"}
		}
		seen[f.Name] = true
	}
	for _, p := range []*string{&c.Read, &c.Update, &c.Delete} {
		switch *p {
		case "":
			*p = Owner
		case Open, Owner:
		default:
			return &Refusal{"permissions", "are open or owner"}
		}
	}
	return s.store.PutObjectClass(ctx, c)
}

// Classes lists an app's classes.
func (s *Service) Classes(ctx context.Context, app int64) ([]Class, error) {
	return s.store.ObjectClasses(ctx, app)
}

// Class returns a class or a refusal naming it.
func (s *Service) Class(ctx context.Context, app int64, name string) (*Class, error) {
	c, err := s.store.ObjectClass(ctx, app, name)
	if errors.Is(err, ErrNotFound) {
		return nil, &Refusal{"class", name + " is not defined in this app (the operator defines classes: parley class create)"}
	}
	return c, err
}

// Coerce checks a value against a field type, as JSON decoded it (numbers
// are float64) or as a query parameter gave it (a string).
func Coerce(typ string, v any) (any, error) {
	str, isStr := v.(string)
	switch typ {
	case String, File:
		if !isStr {
			return nil, errors.New("is not a string")
		}
		if utf8.RuneCountInString(str) > MaxString {
			return nil, errors.New("is too long")
		}
		return str, nil
	case Integer, Date:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case string:
			n, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return nil, errors.New("is not an integer")
			}
			return n, nil
		default:
			return nil, errors.New("is not an integer")
		}
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return nil, errors.New("is not an integer")
		}
		return int64(f), nil
	case Float:
		switch x := v.(type) {
		case float64:
			return x, nil
		case string:
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return nil, errors.New("is not a number")
			}
			return f, nil
		}
		return nil, errors.New("is not a number")
	case Boolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if x == "true" || x == "1" {
				return true, nil
			}
			if x == "false" || x == "0" {
				return false, nil
			}
		}
		return nil, errors.New("is not a boolean")
	case Array:
		if isStr { // a query parameter or the SDK's comma form
			return strings.Split(str, ","), nil
		}
		a, ok := v.([]any)
		if !ok || len(a) > MaxArray {
			return nil, errors.New("is not an array (of at most " + strconv.Itoa(MaxArray) + ")")
		}
		return a, nil
	case Location:
		a, ok := v.([]any)
		if !ok || len(a) != 2 {
			return nil, errors.New("is not [longitude, latitude]")
		}
		return a, nil
	}
	return nil, errors.New("has an unknown type")
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// fields checks a record's fields against its class.
func (c *Class) fields(in map[string]any, partial bool) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range in {
		if system[k] != "" || k == "permissions" || k == "id" {
			continue
		}
		f, ok := c.field(k)
		if !ok {
			return nil, &Refusal{k, "is not a field of " + c.Name}
		}
		if v == nil {
			out[k] = nil
			continue
		}
		cv, err := Coerce(f.Type, v)
		if err != nil {
			return nil, &Refusal{k, err.Error()}
		}
		out[k] = cv
	}
	return out, nil
}

// Create adds records owned by user (one, or a batch for multi).
func (s *Service) Create(ctx context.Context, app, user int64, class string, ins []map[string]any) ([]Record, error) {
	c, err := s.Class(ctx, app, class)
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 || len(ins) > MaxBatch {
		return nil, &Refusal{"record", "send 1 to " + strconv.Itoa(MaxBatch) + " records"}
	}
	mine, err := s.store.CountObjects(ctx, c, Query{Filters: []Filter{{Field: "user_id", Op: "eq", Values: []any{user}}}})
	if err != nil {
		return nil, err
	}
	if mine+len(ins) > s.PerUser {
		return nil, &Refusal{"base", "a user owns at most " + strconv.Itoa(s.PerUser) + " records of a class: delete some first"}
	}
	now := s.now().UTC()
	recs := make([]Record, 0, len(ins))
	for _, in := range ins {
		f, err := c.fields(in, false)
		if err != nil {
			return nil, err
		}
		if err := s.checkFiles(ctx, c, app, user, f); err != nil {
			return nil, err
		}
		parent, _ := in["_parent_id"].(string)
		recs = append(recs, Record{ID: newID(), OwnerID: user, Parent: parent, Fields: f, Created: now, Updated: now})
	}
	return recs, s.store.InsertObjects(ctx, app, class, recs)
}

// checkFiles refuses file fields that name no file the user may read.
func (s *Service) checkFiles(ctx context.Context, c *Class, app, user int64, fields map[string]any) error {
	if s.Files == nil {
		return nil
	}
	for k, v := range fields {
		if f, ok := c.field(k); ok && f.Type == File && v != nil && !s.Files.Readable(ctx, app, user, v.(string)) {
			return &Refusal{k, "names no uploaded file you may read (give the uid of a file of this app)"}
		}
	}
	return nil
}

func (c *Class) may(level string, user int64, r *Record) bool {
	return level == Open || r.OwnerID == user
}

// Get reads records by id that user may read.
func (s *Service) Get(ctx context.Context, app, user int64, class string, ids []string) ([]Record, error) {
	c, err := s.Class(ctx, app, class)
	if err != nil {
		return nil, err
	}
	if len(ids) > MaxBatch {
		return nil, &Refusal{"ids", "at most " + strconv.Itoa(MaxBatch)}
	}
	recs, err := s.store.Objects(ctx, app, class, ids)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(recs, func(r Record) bool { return !c.may(c.Read, user, &r) }), nil
}

// ParseFilters reads query parameters into filters: field=value (eq) or
// field[op]=value, op one of ne gt gte lt lte in nin (lists comma-joined).
func (c *Class) ParseFilters(params map[string][]string, reserved map[string]bool) ([]Filter, error) {
	var out []Filter
	for key, vals := range params {
		if reserved[key] || len(vals) == 0 {
			continue
		}
		name, op := key, "eq"
		if i := strings.IndexByte(key, '['); i > 0 && strings.HasSuffix(key, "]") {
			name, op = key[:i], key[i+1:len(key)-1]
		}
		typ := system[name]
		if typ == "" {
			f, ok := c.field(name)
			if !ok {
				return nil, &Refusal{name, "is not a field of " + c.Name}
			}
			typ = f.Type
		}
		if typ == Array || typ == Location {
			if op != "eq" && op != "in" {
				return nil, &Refusal{name, "an array field is filtered with eq or in"}
			}
		}
		if !slices.Contains([]string{"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"}, op) {
			return nil, &Refusal{name, "the operator " + op + " is not served; use eq ne gt gte lt lte in nin"}
		}
		raw := []string{vals[0]}
		if op == "in" || op == "nin" {
			raw = strings.Split(vals[0], ",")
			if len(raw) > MaxBatch {
				return nil, &Refusal{name, "at most " + strconv.Itoa(MaxBatch) + " values"}
			}
		}
		elem := typ
		if typ == Array {
			elem = String
		}
		f := Filter{Field: name, Op: op}
		for _, r := range raw {
			v, err := Coerce(elem, r)
			if err != nil {
				return nil, &Refusal{name, fmt.Sprint(r, " ", err)}
			}
			f.Values = append(f.Values, v)
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Filter) int { return strings.Compare(a.Field+a.Op, b.Field+b.Op) })
	return out, nil
}

// readable narrows a query to what user may read.
func (c *Class) readable(q Query, user int64) Query {
	if c.Read == Owner {
		q.Filters = append(q.Filters, Filter{Field: "user_id", Op: "eq", Values: []any{user}})
	}
	return q
}

// List returns records matching q that user may read, and their count.
func (s *Service) List(ctx context.Context, app, user int64, class string, q Query, count bool) ([]Record, int, error) {
	c, err := s.Class(ctx, app, class)
	if err != nil {
		return nil, 0, err
	}
	if q.Sort != "" && system[q.Sort] == "" {
		if _, ok := c.field(q.Sort); !ok {
			return nil, 0, &Refusal{"sort", q.Sort + " is not a field of " + c.Name}
		}
	}
	q.Limit = min(max(q.Limit, 1), MaxPage)
	if q.Limit == 1 && q.Skip == 0 && !count {
		q.Limit = 100
	}
	q = c.readable(q, user)
	if count {
		n, err := s.store.CountObjects(ctx, c, q)
		return nil, n, err
	}
	recs, err := s.store.FindObjects(ctx, c, q)
	return recs, len(recs), err
}

// Ops are ConnectyCube's update operators: inc[f]=n, push[f]=v,
// pull[f]=v, add_to_set[f]=v.
type Ops struct {
	Set      map[string]any
	Inc      map[string]any
	Push     map[string]any
	Pull     map[string]any
	AddToSet map[string]any
}

// Update changes one record (its owner, or anyone when the class's
// update is open).
func (s *Service) Update(ctx context.Context, app, user int64, class, id string, ops Ops) (*Record, error) {
	c, err := s.Class(ctx, app, class)
	if err != nil {
		return nil, err
	}
	recs, err := s.store.Objects(ctx, app, class, []string{id})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, ErrNotFound
	}
	r := &recs[0]
	if !c.may(c.Update, user, r) {
		return nil, ErrForbidden
	}
	set, err := c.fields(ops.Set, true)
	if err != nil {
		return nil, err
	}
	if err := s.checkFiles(ctx, c, app, user, set); err != nil {
		return nil, err
	}
	for k, v := range set {
		r.Fields[k] = v
	}
	for k, v := range ops.Inc {
		f, ok := c.field(k)
		if !ok || (f.Type != Integer && f.Type != Float) {
			return nil, &Refusal{k, "inc needs a number field"}
		}
		d, err := Coerce(f.Type, v)
		if err != nil {
			return nil, &Refusal{k, err.Error()}
		}
		r.Fields[k] = addNumbers(r.Fields[k], d)
	}
	for _, op := range []struct {
		vals map[string]any
		do   func(cur []any, v any) []any
	}{
		{ops.Push, func(cur []any, v any) []any { return append(cur, v) }},
		{ops.AddToSet, func(cur []any, v any) []any {
			if slices.ContainsFunc(cur, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
				return cur
			}
			return append(cur, v)
		}},
		{ops.Pull, func(cur []any, v any) []any {
			return slices.DeleteFunc(cur, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) })
		}},
	} {
		for k, v := range op.vals {
			f, ok := c.field(k)
			if !ok || f.Type != Array {
				return nil, &Refusal{k, "push, pull and add_to_set need an array field"}
			}
			cur, _ := r.Fields[k].([]any)
			cur = op.do(slices.Clone(cur), v)
			if len(cur) > MaxArray {
				return nil, &Refusal{k, "at most " + strconv.Itoa(MaxArray) + " elements"}
			}
			r.Fields[k] = cur
		}
	}
	r.Updated = s.now().UTC()
	return r, s.store.UpdateObject(ctx, app, class, r)
}

func addNumbers(cur, d any) any {
	switch x := d.(type) {
	case int64:
		switch c := cur.(type) {
		case int64:
			return c + x
		case float64:
			return int64(c) + x
		}
		return x
	case float64:
		switch c := cur.(type) {
		case int64:
			return float64(c) + x
		case float64:
			return c + x
		}
		return x
	}
	return cur
}

// Delete removes records by id (each its owner's, or any when the class's
// delete is open); it returns what was deleted and what was not found or
// not allowed.
func (s *Service) Delete(ctx context.Context, app, user int64, class string, ids []string) (deleted, notFound, forbidden []string, err error) {
	c, err := s.Class(ctx, app, class)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(ids) > MaxBatch {
		return nil, nil, nil, &Refusal{"ids", "at most " + strconv.Itoa(MaxBatch)}
	}
	recs, err := s.store.Objects(ctx, app, class, ids)
	if err != nil {
		return nil, nil, nil, err
	}
	found := map[string]*Record{}
	for i := range recs {
		found[recs[i].ID] = &recs[i]
	}
	var ok []string
	for _, id := range ids {
		switch r := found[id]; {
		case r == nil:
			notFound = append(notFound, id)
		case !c.may(c.Delete, user, r):
			forbidden = append(forbidden, id)
		default:
			ok = append(ok, id)
		}
	}
	if len(ok) > 0 {
		if _, err := s.store.DeleteObjects(ctx, app, class, ok); err != nil {
			return nil, nil, nil, err
		}
	}
	return ok, notFound, forbidden, nil
}

// DeleteByCriteria removes the records matching q that user may delete (a
// page of at most MaxPage at a time) and counts them.
func (s *Service) DeleteByCriteria(ctx context.Context, app, user int64, class string, q Query) (int, error) {
	c, err := s.Class(ctx, app, class)
	if err != nil {
		return 0, err
	}
	if len(q.Filters) == 0 {
		return 0, &Refusal{"search_criteria", "name at least one condition"}
	}
	if c.Delete == Owner {
		q.Filters = append(q.Filters, Filter{Field: "user_id", Op: "eq", Values: []any{user}})
	}
	q.Limit, q.Skip = MaxPage, 0
	recs, err := s.store.FindObjects(ctx, c, q)
	if err != nil {
		return 0, err
	}
	ids := make([]string, len(recs))
	for i := range recs {
		ids[i] = recs[i].ID
	}
	if len(ids) == 0 {
		return 0, nil
	}
	return s.store.DeleteObjects(ctx, app, class, ids)
}
