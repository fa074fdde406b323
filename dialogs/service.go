package dialogs

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/quota"
)

// Store keeps dialogs and members' state.
type Store interface {
	// CreateDialog stores d and a member row for each occupant. For a private
	// dialog whose pair already has one, it returns that one instead and
	// created false.
	CreateDialog(ctx context.Context, d *Dialog) (existing *Dialog, err error)
	Dialog(ctx context.Context, appID int64, id string) (*Dialog, error)
	PrivateDialog(ctx context.Context, appID, a, b int64) (*Dialog, error)
	// DialogByRoom finds the dialog a client created as room name.
	DialogByRoom(ctx context.Context, appID int64, room string) (*Dialog, error)
	// UpdateDialog rewrites d and adds/removes member rows.
	UpdateDialog(ctx context.Context, d *Dialog, added, removed []int64) error
	// DeleteDialog removes d, its members and its messages.
	DeleteDialog(ctx context.Context, appID int64, id string) error
	Dialogs(ctx context.Context, appID, viewer int64, q Query) ([]View, int, error)
	Member(ctx context.Context, appID int64, id string, uid int64) (*Member, error)
	SetMember(ctx context.Context, appID int64, id string, m *Member) error
	Occupants(ctx context.Context, appID int64, id string, limit, skip int) ([]int64, int, error)
	// Muted lists the members who turned notifications off.
	Muted(ctx context.Context, appID int64, id string) ([]int64, error)
	// Events counts dialog creations and additions for Limits.
	quota.Events
}

// Users answers whether user ids exist in an app.
type Users interface {
	MissingUsers(ctx context.Context, appID int64, ids []int64) ([]int64, error)
}

// Blocking tells whether a user refuses contact from another (privacy lists
// and blocking commands). Nobody is put into a dialog, nor reached in a
// private one, by a user they block.
type Blocking interface {
	// Blocks: a message from `from` to `to` is refused by either one.
	Blocks(ctx context.Context, appID, from, to int64) bool
	// Denies: owner refuses other (who then cannot add owner to a dialog).
	Denies(ctx context.Context, appID, owner, other int64) bool
}

// Filter is one list condition: Field Op Values.
type Filter struct {
	Field  string // "_id", "type", "name", "last_message_date_sent", "created_at", "updated_at", "extensions.<key>"
	Op     string // "", "lt", "lte", "gt", "gte", "ne", "in", "nin", "all", "ctn"
	Values []string
}

// Query lists dialogs.
type Query struct {
	Filters   []Filter
	SortField string
	SortAsc   bool
	Limit     int
	Skip      int
}

// Service applies the dialog rules.
type Service struct {
	store Store
	users Users
	// Blocking, when set, keeps users out of dialogs made by those they
	// block and private messages from them.
	Blocking Blocking
	// LargeDialog is the occupant count from which a group or public dialog
	// keeps no per-member read/delivered ids (default 1,000).
	LargeDialog int
	// ExtensionKeys returns the custom field names an app accepts; nil
	// means any (up to MaxExtensions).
	ExtensionKeys func(ctx context.Context, appID int64) []string
	// Pictures checks a photo that names an uploaded file; nil takes any.
	Pictures PictureCheck
	now      func() time.Time
	limits   atomic.Pointer[Limits]
}

// Limits bound what one user can make others live with. Zero disables a
// limit. Every field is a parley serve setting, named in its comment.
type Limits struct {
	// CreatePerMinute and CreatePerHour bound the dialogs one user creates
	// (any type; a private dialog counts when it is new, also when a first
	// 1-1 message creates it): dialogs-per-minute, dialogs-per-hour.
	CreatePerMinute, CreatePerHour int
	// MaxOccupants bounds a dialog's occupants (a public dialog's
	// subscribers): dialog-max-occupants.
	MaxOccupants int
	// AddedPerHour bounds how many group or meeting dialogs other users can
	// put one user in per hour: dialog-adds-per-hour. (One user once put
	// another in 5,000 groups in 6 s.)
	AddedPerHour int
}

// DefaultLimits are the limits of a new Service.
func DefaultLimits() Limits {
	return Limits{CreatePerMinute: 20, CreatePerHour: 200, MaxOccupants: 10_000, AddedPerHour: 100}
}

// SetLimits replaces the limits (safe while serving: a reload).
func (s *Service) SetLimits(l Limits) { s.limits.Store(&l) }

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return *s.limits.Load() }

// Event kinds counted for Limits.
const (
	eventCreated = "dialog.created"
	eventAdded   = "dialog.added"
)

func (l Limits) createRates() []quota.Rate {
	return []quota.Rate{{Setting: "dialogs-per-minute", N: l.CreatePerMinute, Per: time.Minute},
		{Setting: "dialogs-per-hour", N: l.CreatePerHour, Per: time.Hour}}
}

func (l Limits) addRates() []quota.Rate {
	return []quota.Rate{{Setting: "dialog-adds-per-hour", N: l.AddedPerHour, Per: time.Hour}}
}

// MaxExtensions bounds custom fields per dialog.
const MaxExtensions = 32

// NewService returns a Service over store with DefaultLimits.
func NewService(store Store, users Users) *Service {
	s := &Service{store: store, users: users, LargeDialog: 1000, now: time.Now}
	s.SetLimits(DefaultLimits())
	return s
}

// checkCreate refuses a new dialog by uid beyond the creation rates, and
// (for a group or meeting) adding others beyond their rate.
func (s *Service) checkCreate(ctx context.Context, appID, uid int64, t Type, others []int64, now time.Time) error {
	l := s.Limits()
	err := quota.Check(ctx, s.store, appID, eventCreated, []int64{uid}, now,
		func(int64) string { return "too many dialogs created" }, l.createRates()...)
	if err != nil {
		return err
	}
	return s.checkAdded(ctx, appID, t, others, now)
}

// checkAdded refuses putting users in a group or meeting dialog when one of
// them was put in too many by others lately.
func (s *Service) checkAdded(ctx context.Context, appID int64, t Type, users []int64, now time.Time) error {
	if t != Group && t != Meeting {
		return nil
	}
	return quota.Check(ctx, s.store, appID, eventAdded, users, now,
		func(u int64) string { return quota.User(u) + " was added to too many dialogs by others" }, s.Limits().addRates()...)
}

// recordCreate counts a dialog uid created and the others it put in.
func (s *Service) recordCreate(ctx context.Context, appID, uid int64, t Type, others []int64, now time.Time) error {
	l := s.Limits()
	if err := quota.Record(ctx, s.store, appID, eventCreated, []int64{uid}, now, l.createRates()...); err != nil {
		return err
	}
	return s.recordAdded(ctx, appID, t, others, now)
}

func (s *Service) recordAdded(ctx context.Context, appID int64, t Type, users []int64, now time.Time) error {
	if t != Group && t != Meeting {
		return nil
	}
	return quota.Record(ctx, s.store, appID, eventAdded, users, now, s.Limits().addRates()...)
}

// checkOccupants refuses a dialog with more than MaxOccupants occupants.
func (s *Service) checkOccupants(n int) error {
	if max := s.Limits().MaxOccupants; max > 0 && n > max {
		return quota.Cap("dialog-max-occupants", max, "too many occupants in the dialog")
	}
	return nil
}

// Input carries dialog fields from a client; nil means "not given".
type Input struct {
	Type                         *Type
	Name                         *string
	Description                  *string
	Photo                        *string
	Occupants                    []int64
	Admins                       []int64
	Extensions                   map[string]*string // nil value deletes a key
	ResetExt                     bool               // "extensions": null
	AllowPreview                 *bool
	PushOccupants, PullOccupants []int64
	PushAdmins, PullAdmins       []int64
	PushPinned, PullPinned       []string
	// Settings replace the room settings (owner and admins only).
	Settings *RoomSettings
}

// Create makes a dialog owned by uid. A private dialog between the same two
// users is unique: creating it again returns the existing one.
func (s *Service) Create(ctx context.Context, appID, uid int64, in Input) (*View, error) {
	return s.create(ctx, appID, uid, in, "")
}

// create is Create, for a room a client names when room is set.
func (s *Service) create(ctx context.Context, appID, uid int64, in Input, room string) (*View, error) {
	v := ValidationError{}
	if in.Type == nil || !in.Type.Valid() {
		v["type"] = []string{"is invalid; use 1 public, 2 group, 3 private, 4 broadcast or 5 meeting"}
		return nil, v
	}
	t := *in.Type
	if t == Broadcast {
		return nil, ErrForbidden // created by the operator: parley dialog broadcast
	}
	now := s.now().UTC()
	d := &Dialog{AppID: appID, Room: room, Type: t, OwnerID: uid, CreatedAt: now, UpdatedAt: now}
	occ := addUnique(nil, in.Occupants...)
	switch t {
	case Private:
		occ = removeAll(occ, uid)
		if len(occ) != 1 {
			v["occupants_ids"] = []string{"a private dialog needs exactly one other occupant"}
			return nil, v
		}
		d.Occupants = []int64{uid, occ[0]}
	case Public:
		d.Occupants = []int64{uid}
	default:
		d.Occupants = addUnique([]int64{uid}, occ...)
	}
	if t != Private {
		if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
			v["name"] = []string{"is required"}
		}
	}
	if in.Photo != nil && *in.Photo != "" && s.Pictures != nil {
		if err := s.Pictures.CheckPicture(ctx, appID, uid, "photo", *in.Photo); err != nil {
			return nil, err
		}
	}
	s.apply(ctx, d, in, v)
	if t != Private {
		d.Admins = addUnique(nil, in.Admins...)
		d.Admins = removeAll(d.Admins, uid)
		if len(d.Admins) > MaxAdmins {
			v["admins_ids"] = []string{"at most 5 admins"}
		}
	}
	if len(v) > 0 {
		return nil, v
	}
	if err := s.checkOccupants(len(d.Occupants)); err != nil {
		return nil, err
	}
	if err := s.checkUsers(ctx, appID, append(slices.Clone(d.Occupants), d.Admins...)); err != nil {
		return nil, err
	}
	if err := s.checkConsent(ctx, appID, uid, append(slices.Clone(d.Occupants), d.Admins...)); err != nil {
		return nil, err
	}
	if t == Private {
		// Asking again for an existing private dialog creates nothing.
		if existing, err := s.store.PrivateDialog(ctx, appID, d.Occupants[0], d.Occupants[1]); err == nil {
			return s.reopen(ctx, existing, uid)
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	others := removeAll(slices.Clone(d.Occupants), uid)
	if err := s.checkCreate(ctx, appID, uid, t, others, now); err != nil {
		return nil, err
	}
	d.Large = len(d.Occupants) >= s.LargeDialog
	d.ID = NewID(now)
	existing, err := s.store.CreateDialog(ctx, d)
	if err != nil {
		return nil, err
	}
	if existing == nil {
		if err := s.recordCreate(ctx, appID, uid, t, others, now); err != nil {
			return nil, err
		}
	}
	if existing != nil {
		return s.reopen(ctx, existing, uid)
	}
	return s.view(ctx, d, uid)
}

// reopen returns an existing private dialog to uid, showing it again if uid
// had deleted it for themselves.
func (s *Service) reopen(ctx context.Context, d *Dialog, uid int64) (*View, error) {
	if m, err := s.store.Member(ctx, d.AppID, d.ID, uid); err == nil && m.Hidden {
		m.Hidden = false
		s.store.SetMember(ctx, d.AppID, d.ID, m)
	}
	return s.view(ctx, d, uid)
}

// Private returns the private dialog of a and b, if they have one.
func (s *Service) Private(ctx context.Context, appID, a, b int64) (*Dialog, error) {
	return s.store.PrivateDialog(ctx, appID, a, b)
}

// EnsurePrivate returns the private dialog of a and b, creating it (the first
// 1-1 message without a dialog id does this).
func (s *Service) EnsurePrivate(ctx context.Context, appID, a, b int64) (*Dialog, error) {
	d, err := s.store.PrivateDialog(ctx, appID, a, b)
	if err == nil {
		return d, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err := s.CheckUsers(ctx, appID, []int64{a, b}); err != nil {
		return nil, err
	}
	if s.Refuses(ctx, appID, a, b) {
		return nil, ErrBlocked
	}
	now := s.now().UTC()
	if err := s.checkCreate(ctx, appID, a, Private, nil, now); err != nil {
		return nil, err
	}
	d = &Dialog{ID: NewID(now), AppID: appID, Type: Private, OwnerID: a, Occupants: []int64{a, b}, CreatedAt: now, UpdatedAt: now}
	existing, err := s.store.CreateDialog(ctx, d)
	if existing != nil {
		return existing, nil
	}
	if err != nil {
		return nil, err
	}
	return d, s.recordCreate(ctx, appID, a, Private, nil, now)
}

// Refuses reports whether `to` refuses contact from `from`, or `from`
// blocks `to` mutually.
func (s *Service) Refuses(ctx context.Context, appID, from, to int64) bool {
	return s.Blocking != nil && from != to && s.Blocking.Blocks(ctx, appID, from, to)
}

// checkConsent refuses putting users into a dialog by someone they block.
func (s *Service) checkConsent(ctx context.Context, appID, actor int64, ids []int64) error {
	if s.Blocking == nil {
		return nil
	}
	for _, id := range ids {
		if id != actor && s.Blocking.Denies(ctx, appID, id, actor) {
			return ErrBlocked
		}
	}
	return nil
}

// CheckUsers returns an error wrapping ErrNoSuchUser, naming the ids, when
// any of ids is not a user of the app: a message or a dialog must not reach,
// or create state for, a user who does not exist.
func (s *Service) CheckUsers(ctx context.Context, appID int64, ids []int64) error {
	if s.users == nil || len(ids) == 0 {
		return nil
	}
	missing, err := s.users.MissingUsers(ctx, appID, ids)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return &NoSuchUserError{IDs: missing}
	}
	return nil
}

func (s *Service) checkUsers(ctx context.Context, appID int64, ids []int64) error {
	err := s.CheckUsers(ctx, appID, ids)
	if errors.Is(err, ErrNoSuchUser) {
		return ValidationError{"occupants_ids": {"contains users that do not exist: " + err.(*NoSuchUserError).list()}}
	}
	return err
}

// apply copies the plain fields of in onto d, collecting problems in v.
func (s *Service) apply(ctx context.Context, d *Dialog, in Input, v ValidationError) {
	str := func(field string, dst *string, src *string, max int) {
		if src == nil {
			return
		}
		if utf8.RuneCountInString(*src) > max {
			v[field] = []string{"is too long"}
			return
		}
		*dst = strings.TrimSpace(*src)
	}
	str("name", &d.Name, in.Name, 200)
	str("description", &d.Description, in.Description, 1000)
	str("photo", &d.Photo, in.Photo, 1000)
	if rs := in.Settings; rs != nil {
		switch {
		case utf8.RuneCountInString(rs.Subject) > MaxSubject:
			v["subject"] = []string{"is too long"}
		case utf8.RuneCountInString(rs.Password) > MaxPassword:
			v["password"] = []string{"is too long"}
		case rs.History < 0 || rs.History > MaxRoomHistory:
			v["history"] = []string{"must be between 0 and " + strconv.Itoa(MaxRoomHistory)}
		case len(rs.Voiceless) > MaxVoiceless:
			v["voiceless"] = []string{"at most " + strconv.Itoa(MaxVoiceless) + " users"}
		case len(rs.Banned) > MaxBanned:
			v["banned"] = []string{"at most " + strconv.Itoa(MaxBanned) + " users"}
		default:
			d.Settings = *rs
		}
	}
	if in.AllowPreview != nil {
		d.AllowPreview = *in.AllowPreview
	}
	if in.ResetExt {
		d.Extensions = nil
	}
	if len(in.Extensions) > 0 {
		var allowed []string
		if s.ExtensionKeys != nil {
			allowed = s.ExtensionKeys(ctx, d.AppID)
		}
		if d.Extensions == nil {
			d.Extensions = map[string]string{}
		}
		for k, val := range in.Extensions {
			if allowed != nil && !slices.Contains(allowed, k) {
				continue // the documented behaviour: fields outside the allow-list are ignored
			}
			if k == "" || len(k) > 64 || strings.ContainsAny(k, "[]. $") {
				v["extensions"] = append(v["extensions"], "invalid field name "+k)
				continue
			}
			if val == nil {
				delete(d.Extensions, k)
				continue
			}
			if len(*val) > 1024 {
				v["extensions"] = append(v["extensions"], k+" is too long")
				continue
			}
			d.Extensions[k] = *val
		}
		if len(d.Extensions) > MaxExtensions {
			v["extensions"] = append(v["extensions"], "too many custom fields")
		}
	}
}

// Get returns one dialog as uid sees it.
func (s *Service) Get(ctx context.Context, appID, uid int64, id string) (*View, error) {
	d, err := s.store.Dialog(ctx, appID, id)
	if err != nil {
		return nil, err
	}
	if !d.CanRead(uid) {
		return nil, ErrNotFound
	}
	return s.view(ctx, d, uid)
}

// Dialog returns a dialog without a viewer (routing).
func (s *Service) Dialog(ctx context.Context, appID int64, id string) (*Dialog, error) {
	return s.store.Dialog(ctx, appID, id)
}

func (s *Service) view(ctx context.Context, d *Dialog, uid int64) (*View, error) {
	v := &View{Dialog: *d, Notifications: true}
	if d.LastMessageUserID == uid {
		v.LastMessageStatus = d.LastStatus
	}
	m, err := s.store.Member(ctx, d.AppID, d.ID, uid)
	switch {
	case err == nil:
		v.Unread = max(d.Seq-m.ReadSeq, 0)
		v.Notifications = m.Notifications
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	return v, nil
}

// List returns the dialogs uid occupies (and broadcast ones), newest first
// by default. Limit defaults to 100, capped at 100.
func (s *Service) List(ctx context.Context, appID, uid int64, q Query) ([]View, int, error) {
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 100
	}
	return s.store.Dialogs(ctx, appID, uid, q)
}

// Update changes a dialog on behalf of uid, by the rules: only the owner and
// admins rename, change other users' membership or pin; only the owner
// changes admins; anyone may leave (pull themselves).
func (s *Service) Update(ctx context.Context, appID, uid int64, id string, in Input) (*View, error) {
	d, err := s.store.Dialog(ctx, appID, id)
	if err != nil {
		return nil, err
	}
	if !d.CanRead(uid) {
		return nil, ErrNotFound
	}
	admin := d.IsAdmin(uid)
	meta := in.Name != nil || in.Description != nil || in.Photo != nil || in.Extensions != nil || in.ResetExt || in.AllowPreview != nil || in.Settings != nil
	others := len(in.PushOccupants) > 0 || len(removeAll(in.PullOccupants, uid)) > 0
	switch {
	case d.Type == Private && (meta || others || len(in.PushAdmins)+len(in.PullAdmins) > 0):
		return nil, ErrForbidden
	case (meta || others || len(in.PushPinned)+len(in.PullPinned) > 0) && !admin:
		return nil, ErrForbidden
	case len(in.PushAdmins)+len(in.PullAdmins) > 0 && uid != d.OwnerID:
		return nil, ErrForbidden
	}
	if in.Photo != nil && *in.Photo != "" && s.Pictures != nil {
		if err := s.Pictures.CheckPicture(ctx, d.AppID, uid, "photo", *in.Photo); err != nil {
			return nil, err
		}
	}
	v := ValidationError{}
	s.apply(ctx, d, in, v)
	if len(v) > 0 {
		return nil, v
	}
	added := removeAll(addUnique(nil, in.PushOccupants...), d.Occupants...)
	if err := s.checkUsers(ctx, appID, added); err != nil {
		return nil, err
	}
	if err := s.checkConsent(ctx, appID, uid, append(slices.Clone(added), in.PushAdmins...)); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if err := s.checkAdded(ctx, appID, d.Type, added, now); err != nil {
		return nil, err
	}
	removed := []int64{}
	for _, p := range in.PullOccupants {
		if d.HasOccupant(p) && p != d.OwnerID || p == uid && d.HasOccupant(p) {
			removed = append(removed, p)
		}
	}
	d.Occupants = removeAll(addUnique(d.Occupants, added...), removed...)
	d.Settings.Banned = removeAll(d.Settings.Banned, added...) // an admin let them back in
	if len(added) > 0 {
		if err := s.checkOccupants(len(d.Occupants)); err != nil {
			return nil, err
		}
	}
	d.Admins = removeAll(addUnique(d.Admins, in.PushAdmins...), in.PullAdmins...)
	d.Admins = removeAll(d.Admins, removed...)
	if len(d.Admins) > MaxAdmins {
		return nil, ValidationError{"admins_ids": {"at most 5 admins"}}
	}
	for _, p := range in.PushPinned {
		if !slices.Contains(d.Pinned, p) {
			d.Pinned = append(d.Pinned, p)
		}
	}
	d.Pinned = slices.DeleteFunc(d.Pinned, func(p string) bool { return slices.Contains(in.PullPinned, p) })
	d.Large = d.Large || len(d.Occupants) >= s.LargeDialog
	d.UpdatedAt = now
	if err := s.store.UpdateDialog(ctx, d, added, removed); err != nil {
		return nil, err
	}
	if err := s.recordAdded(ctx, appID, d.Type, added, now); err != nil {
		return nil, err
	}
	return s.view(ctx, d, uid)
}

// DeleteResult is the answer to a multi-id delete.
type DeleteResult struct {
	Deleted, NotFound, WrongPermissions []string
}

// Delete removes dialogs for uid: for everyone with force (owner only);
// otherwise private dialogs are hidden until the next message, group dialogs
// are left and public ones unsubscribed.
func (s *Service) Delete(ctx context.Context, appID, uid int64, ids []string, force bool) (DeleteResult, error) {
	var r DeleteResult
	for _, id := range ids {
		d, err := s.store.Dialog(ctx, appID, id)
		if errors.Is(err, ErrNotFound) || err == nil && !d.CanRead(uid) {
			r.NotFound = append(r.NotFound, id)
			continue
		}
		if err != nil {
			return r, err
		}
		switch {
		case force:
			if uid != d.OwnerID {
				r.WrongPermissions = append(r.WrongPermissions, id)
				continue
			}
			err = s.store.DeleteDialog(ctx, appID, id)
		case d.Type == Private || d.Type == Broadcast:
			var m *Member
			m, err = s.store.Member(ctx, appID, id, uid)
			if errors.Is(err, ErrNotFound) {
				m, err = &Member{UserID: uid, Notifications: true}, nil
			}
			if err == nil {
				m.Hidden = true
				err = s.store.SetMember(ctx, appID, id, m)
			}
		default:
			if !d.HasOccupant(uid) {
				r.WrongPermissions = append(r.WrongPermissions, id)
				continue
			}
			d.Occupants = removeAll(d.Occupants, uid)
			d.Admins = removeAll(d.Admins, uid)
			d.UpdatedAt = s.now().UTC()
			err = s.store.UpdateDialog(ctx, d, nil, []int64{uid})
		}
		if err != nil {
			return r, err
		}
		r.Deleted = append(r.Deleted, id)
	}
	return r, nil
}

// Subscribe adds uid to a public dialog's occupants.
func (s *Service) Subscribe(ctx context.Context, appID, uid int64, id string) (*View, error) {
	d, err := s.store.Dialog(ctx, appID, id)
	if err != nil {
		return nil, err
	}
	if d.Type != Public {
		return nil, ValidationError{"base": {"only public dialogs can be subscribed to"}}
	}
	if d.IsBanned(uid) {
		return nil, ErrForbidden
	}
	if !d.HasOccupant(uid) {
		if err := s.checkOccupants(len(d.Occupants) + 1); err != nil {
			return nil, err
		}
		d.Occupants = append(d.Occupants, uid)
		d.Large = d.Large || len(d.Occupants) >= s.LargeDialog
		if err := s.store.UpdateDialog(ctx, d, []int64{uid}, nil); err != nil {
			return nil, err
		}
	}
	return s.view(ctx, d, uid)
}

// Unsubscribe removes uid from a public dialog.
func (s *Service) Unsubscribe(ctx context.Context, appID, uid int64, id string) error {
	d, err := s.store.Dialog(ctx, appID, id)
	if err != nil {
		return err
	}
	if d.Type != Public {
		return ValidationError{"base": {"only public dialogs can be unsubscribed from"}}
	}
	if !d.HasOccupant(uid) {
		return nil
	}
	d.Occupants = removeAll(d.Occupants, uid)
	d.Admins = removeAll(d.Admins, uid)
	return s.store.UpdateDialog(ctx, d, nil, []int64{uid})
}

// Occupants pages a dialog's occupants.
func (s *Service) Occupants(ctx context.Context, appID, uid int64, id string, limit, skip int) ([]int64, int, error) {
	d, err := s.store.Dialog(ctx, appID, id)
	if err != nil {
		return nil, 0, err
	}
	if !d.CanRead(uid) {
		return nil, 0, ErrNotFound
	}
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	return s.store.Occupants(ctx, appID, id, limit, skip)
}

// Notifications returns whether uid gets pushes for the dialog.
func (s *Service) Notifications(ctx context.Context, appID, uid int64, id string) (bool, error) {
	v, err := s.Get(ctx, appID, uid, id)
	if err != nil {
		return false, err
	}
	return v.Notifications, nil
}

// SetNotifications turns pushes for the dialog on or off for uid.
func (s *Service) SetNotifications(ctx context.Context, appID, uid int64, id string, on bool) error {
	d, err := s.store.Dialog(ctx, appID, id)
	if err != nil {
		return err
	}
	if !d.CanRead(uid) {
		return ErrNotFound
	}
	m, err := s.store.Member(ctx, appID, id, uid)
	if errors.Is(err, ErrNotFound) {
		m, err = &Member{UserID: uid}, nil
	}
	if err != nil {
		return err
	}
	m.Notifications = on
	return s.store.SetMember(ctx, appID, id, m)
}

// Muted lists the members of a dialog who turned notifications off.
func (s *Service) Muted(ctx context.Context, appID int64, id string) ([]int64, error) {
	return s.store.Muted(ctx, appID, id)
}

// CreateBroadcast makes a broadcast dialog (operator command): it reaches
// every user of the app; owner and admins post.
func (s *Service) CreateBroadcast(ctx context.Context, appID, owner int64, name string) (*Dialog, error) {
	now := s.now().UTC()
	d := &Dialog{ID: NewID(now), AppID: appID, Type: Broadcast, OwnerID: owner, Name: name, Occupants: []int64{owner}, CreatedAt: now, UpdatedAt: now, Large: true}
	if _, err := s.store.CreateDialog(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// ByRoom returns the dialog created as room name (XEP-0045 room creation).
func (s *Service) ByRoom(ctx context.Context, appID int64, room string) (*Dialog, error) {
	return s.store.DialogByRoom(ctx, appID, room)
}

// CreateRoom makes the group dialog a client creates by joining
// <room>@<muc domain>: owned by uid, named room, uid its only occupant. A
// room made meanwhile under that name is returned instead.
func (s *Service) CreateRoom(ctx context.Context, appID, uid int64, room string) (*Dialog, error) {
	if !ValidRoomName(room) {
		return nil, ValidationError{"room": {"lower-case letters, digits, '.', '-' and '_', at most 64"}}
	}
	typ, name := Group, room
	v, err := s.create(ctx, appID, uid, Input{Type: &typ, Name: &name}, room)
	if err != nil {
		if d, e := s.store.DialogByRoom(ctx, appID, room); e == nil {
			return d, nil
		}
		return nil, err
	}
	return &v.Dialog, nil
}

// PictureCheck checks a picture reference (a URL or a file's uid).
type PictureCheck interface {
	CheckPicture(ctx context.Context, appID, userID int64, field, ref string) error
}
