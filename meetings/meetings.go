// Package meetings keeps video meetings (ConnectyCube's /meetings.json) and
// whiteboards (/whiteboards.json): a meeting has a host, a time, attendees
// and optionally a chat (a dialog of type meeting whose occupants follow
// the attendees); a whiteboard belongs to a dialog and is seen by its
// occupants.
package meetings

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/dialogs"
)

// Attendee is someone invited: a user of the app, or an e-mail address.
type Attendee struct {
	ID    int64  `json:"id,omitempty" bson:"id,omitempty"`
	Email string `json:"email,omitempty" bson:"email,omitempty"`
}

// Meeting is one meeting.
type Meeting struct {
	ID         string
	AppID      int64
	HostID     int64
	Name       string
	Start, End int64 // unix seconds
	Attendees  []Attendee
	Record     bool
	Chat       bool
	DialogID   string // the meeting's dialog when Chat
	Public     bool
	Scheduled  bool
	Notify     bool
	Created    time.Time
	Updated    time.Time
}

// Whiteboard is one whiteboard of a dialog.
type Whiteboard struct {
	ID       string
	AppID    int64
	OwnerID  int64
	DialogID string
	Name     string
	Created  time.Time
	Updated  time.Time
}

// Errors.
var (
	ErrNotFound  = errors.New("meetings: not found")
	ErrForbidden = errors.New("meetings: forbidden")
)

// Refusal is input the rules refuse; Field names it.
type Refusal struct{ Field, Msg string }

func (r *Refusal) Error() string { return r.Field + " " + r.Msg }

// Store keeps meetings and whiteboards.
type Store interface {
	PutMeeting(ctx context.Context, m *Meeting) error
	Meeting(ctx context.Context, app int64, id string) (*Meeting, error)
	// Meetings lists those user hosts or attends (or public ones), newest
	// start first.
	Meetings(ctx context.Context, app, user int64, limit int) ([]Meeting, error)
	CountHosted(ctx context.Context, app, user int64) (int, error)
	DeleteMeeting(ctx context.Context, app int64, id string) error

	PutWhiteboard(ctx context.Context, w *Whiteboard) error
	Whiteboard(ctx context.Context, app int64, id string) (*Whiteboard, error)
	Whiteboards(ctx context.Context, app int64, dialog string) ([]Whiteboard, error)
	DeleteWhiteboard(ctx context.Context, app int64, id string) error
}

// Bounds.
const (
	MaxAttendees          = 1000
	MaxMeetingsPerUser    = 1000
	MaxWhiteboardsPerChat = 100
	MaxName               = 255
	maxListed             = 1000
)

// Service applies the rules.
type Service struct {
	store   Store
	dialogs *dialogs.Service
	now     func() time.Time
}

// NewService returns a Service; ds keeps the meetings' chats.
func NewService(s Store, ds *dialogs.Service) *Service {
	return &Service{store: s, dialogs: ds, now: time.Now}
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Input is what a create or update sets (nil: unchanged).
type Input struct {
	Name                            *string
	Start, End                      *int64
	Attendees                       []Attendee
	SetAttendees                    bool
	Record, Chat, Public, Scheduled *bool
	Notify                          *bool
}

func (s *Service) apply(m *Meeting, in Input) error {
	if in.Name != nil {
		if n := strings.TrimSpace(*in.Name); n == "" || utf8.RuneCountInString(n) > MaxName {
			return &Refusal{"name", "must be 1 to " + strconv.Itoa(MaxName) + " characters"}
		}
		m.Name = strings.TrimSpace(*in.Name)
	}
	if in.Start != nil {
		m.Start = *in.Start
	}
	if in.End != nil {
		m.End = *in.End
	}
	if m.End != 0 && m.End < m.Start {
		return &Refusal{"end_date", "must not be before start_date"}
	}
	if in.SetAttendees {
		if len(in.Attendees) > MaxAttendees {
			return &Refusal{"attendees", "at most " + strconv.Itoa(MaxAttendees)}
		}
		m.Attendees = in.Attendees
	}
	for _, p := range []struct {
		dst *bool
		v   *bool
	}{{&m.Record, in.Record}, {&m.Public, in.Public}, {&m.Scheduled, in.Scheduled}, {&m.Notify, in.Notify}} {
		if p.v != nil {
			*p.dst = *p.v
		}
	}
	return nil
}

func (m *Meeting) userIDs() []int64 {
	var out []int64
	for _, a := range m.Attendees {
		if a.ID > 0 && a.ID != m.HostID && !slices.Contains(out, a.ID) {
			out = append(out, a.ID)
		}
	}
	return out
}

// Create makes a meeting hosted by host; with chat, its dialog too.
func (s *Service) Create(ctx context.Context, app, host int64, in Input) (*Meeting, error) {
	n, err := s.store.CountHosted(ctx, app, host)
	if err != nil {
		return nil, err
	}
	if n >= MaxMeetingsPerUser {
		return nil, &Refusal{"base", "a user hosts at most " + strconv.Itoa(MaxMeetingsPerUser) + " meetings: delete old ones"}
	}
	now := s.now().UTC()
	m := &Meeting{ID: newID(), AppID: app, HostID: host, Start: now.Unix(), End: now.Unix() + 3600, Created: now, Updated: now}
	if in.Name == nil {
		name := "Meeting"
		in.Name = &name
	}
	if err := s.apply(m, in); err != nil {
		return nil, err
	}
	if in.Chat != nil && *in.Chat {
		t := dialogs.Meeting
		v, err := s.dialogs.Create(ctx, app, host, dialogs.Input{Type: &t, Name: &m.Name, Occupants: m.userIDs()})
		if err != nil {
			return nil, err
		}
		m.Chat, m.DialogID = true, v.ID
	}
	return m, s.store.PutMeeting(ctx, m)
}

// Get returns a meeting user may see: hosted, attended or public.
func (s *Service) Get(ctx context.Context, app, user int64, id string) (*Meeting, error) {
	m, err := s.store.Meeting(ctx, app, id)
	if err != nil {
		return nil, err
	}
	if m.HostID != user && !m.Public && !slices.ContainsFunc(m.Attendees, func(a Attendee) bool { return a.ID == user }) {
		return nil, ErrNotFound
	}
	return m, nil
}

// List returns the meetings user hosts, attends, or may see as public.
func (s *Service) List(ctx context.Context, app, user int64) ([]Meeting, error) {
	return s.store.Meetings(ctx, app, user, maxListed)
}

// Update changes a meeting (its host only); the chat's occupants follow
// the attendees.
func (s *Service) Update(ctx context.Context, app, user int64, id string, in Input) (*Meeting, error) {
	m, err := s.store.Meeting(ctx, app, id)
	if err != nil {
		return nil, err
	}
	if m.HostID != user {
		return nil, ErrForbidden
	}
	before := m.userIDs()
	if err := s.apply(m, in); err != nil {
		return nil, err
	}
	if m.DialogID != "" && (in.SetAttendees || in.Name != nil) {
		after := m.userIDs()
		d := dialogs.Input{Name: in.Name}
		for _, u := range after {
			if !slices.Contains(before, u) {
				d.PushOccupants = append(d.PushOccupants, u)
			}
		}
		for _, u := range before {
			if !slices.Contains(after, u) {
				d.PullOccupants = append(d.PullOccupants, u)
			}
		}
		if _, err := s.dialogs.Update(ctx, app, user, m.DialogID, d); err != nil && !errors.Is(err, dialogs.ErrNotFound) {
			return nil, err
		}
	}
	m.Updated = s.now().UTC()
	return m, s.store.PutMeeting(ctx, m)
}

// Delete removes a meeting (its host only), and its chat.
func (s *Service) Delete(ctx context.Context, app, user int64, id string) error {
	m, err := s.store.Meeting(ctx, app, id)
	if err != nil {
		return err
	}
	if m.HostID != user {
		return ErrForbidden
	}
	if m.DialogID != "" {
		s.dialogs.Delete(ctx, app, user, []string{m.DialogID}, true)
	}
	return s.store.DeleteMeeting(ctx, app, id)
}

// CreateWhiteboard adds a whiteboard to a dialog the user occupies.
func (s *Service) CreateWhiteboard(ctx context.Context, app, user int64, dialog, name string) (*Whiteboard, error) {
	d, err := s.dialogs.Dialog(ctx, app, dialog)
	if err != nil || !d.CanRead(user) {
		return nil, &Refusal{"chat_dialog_id", "names no dialog you are in"}
	}
	if n := strings.TrimSpace(name); n == "" || utf8.RuneCountInString(n) > MaxName {
		return nil, &Refusal{"name", "must be 1 to " + strconv.Itoa(MaxName) + " characters"}
	}
	list, err := s.store.Whiteboards(ctx, app, dialog)
	if err != nil {
		return nil, err
	}
	if len(list) >= MaxWhiteboardsPerChat {
		return nil, &Refusal{"base", "a dialog has at most " + strconv.Itoa(MaxWhiteboardsPerChat) + " whiteboards"}
	}
	now := s.now().UTC()
	w := &Whiteboard{ID: newID(), AppID: app, OwnerID: user, DialogID: dialog, Name: strings.TrimSpace(name), Created: now, Updated: now}
	return w, s.store.PutWhiteboard(ctx, w)
}

// Whiteboards lists a dialog's whiteboards for one of its occupants.
func (s *Service) Whiteboards(ctx context.Context, app, user int64, dialog string) ([]Whiteboard, error) {
	d, err := s.dialogs.Dialog(ctx, app, dialog)
	if err != nil || !d.CanRead(user) {
		return nil, ErrNotFound
	}
	return s.store.Whiteboards(ctx, app, dialog)
}

// RenameWhiteboard renames one (its creator only).
func (s *Service) RenameWhiteboard(ctx context.Context, app, user int64, id, name string) (*Whiteboard, error) {
	w, err := s.store.Whiteboard(ctx, app, id)
	if err != nil {
		return nil, err
	}
	if w.OwnerID != user {
		return nil, ErrForbidden
	}
	if n := strings.TrimSpace(name); n == "" || utf8.RuneCountInString(n) > MaxName {
		return nil, &Refusal{"name", "must be 1 to " + strconv.Itoa(MaxName) + " characters"}
	}
	w.Name, w.Updated = strings.TrimSpace(name), s.now().UTC()
	return w, s.store.PutWhiteboard(ctx, w)
}

// DeleteWhiteboard removes one (its creator only).
func (s *Service) DeleteWhiteboard(ctx context.Context, app, user int64, id string) error {
	w, err := s.store.Whiteboard(ctx, app, id)
	if err != nil {
		return err
	}
	if w.OwnerID != user {
		return ErrForbidden
	}
	return s.store.DeleteWhiteboard(ctx, app, id)
}
