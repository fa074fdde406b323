// Package dialogs holds the ConnectyCube dialog model: private (1-1), group,
// public, broadcast and meeting dialogs, their occupants, admins and custom
// fields, and the rules of who may see and change what.
//
// Dialog types are stored and echoed exactly as clients send them. The SDK's
// enum (1 public, 2 group, 3 private, 4 broadcast, 5 meeting) differs from
// ConnectyCube's docs (1 broadcast, 4 public); Parley applies rules by the
// SDK's numbering, because the SDK is what clients run. See docs/dialogs.md.
package dialogs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Type is a dialog type number as clients send it.
type Type int

// Dialog types, by the connectycube SDK's numbering.
const (
	Public    Type = 1
	Group     Type = 2
	Private   Type = 3
	Broadcast Type = 4
	Meeting   Type = 5
)

// Valid reports whether t is a known type.
func (t Type) Valid() bool { return t >= Public && t <= Meeting }

// MaxAdmins is the most admins a dialog may have.
const MaxAdmins = 5

// Dialog is one conversation.
type Dialog struct {
	ID    string
	AppID int64
	// Room is the name a client created the room under by joining
	// <name>@<muc domain> (XEP-0045); "" for dialogs made over REST, whose
	// room is <appId>_<id>@<muc domain>. Unique per app.
	Room         string
	Type         Type
	OwnerID      int64
	Name         string
	Description  string
	Photo        string
	Occupants    []int64 // for public dialogs: the subscribers
	Admins       []int64
	Pinned       []string
	Extensions   map[string]string
	AllowPreview bool
	// Large dialogs keep no per-member receipts (see Service.LargeDialog).
	Large bool
	// Settings are the room's: what the MUC configuration form sets beyond
	// the fields above, its subject and whose voice was revoked.
	Settings RoomSettings

	LastMessage       string
	LastMessageID     string
	LastMessageUserID int64
	LastMessageDate   int64  // unix seconds; 0 when none
	LastStatus        string // "sent", "delivered" or "read": the last message's receipts
	// Seq counts messages ever stored in the dialog; a member has read up to
	// its ReadSeq, so its unread count is Seq-ReadSeq. One stored message
	// costs O(1) writes however many occupants there are.
	Seq int64

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Member is a user's own state in a dialog.
type Member struct {
	UserID        int64
	ReadSeq       int64
	Hidden        bool // deleted "for me" (private dialogs come back on a new message)
	Notifications bool
}

// View is a dialog as one user sees it.
type View struct {
	Dialog
	Unread            int64
	LastMessageStatus string // "sent", "delivered", "read", or "" when the last message is not the viewer's
	Notifications     bool
}

// Errors.
var (
	ErrNotFound  = errors.New("dialogs: not found")
	ErrForbidden = errors.New("dialogs: forbidden")
	// ErrBlocked: the other user blocks the one acting (privacy lists).
	ErrBlocked = errors.New("dialogs: the user does not accept contact from you")
)

// ErrNoSuchUser is matched (errors.Is) by a NoSuchUserError.
var ErrNoSuchUser = errors.New("dialogs: no such user")

// NoSuchUserError names user ids that are not users of the app.
type NoSuchUserError struct{ IDs []int64 }

func (e *NoSuchUserError) Error() string {
	return "dialogs: no such user in this application: " + e.list()
}

// Is makes errors.Is(err, ErrNoSuchUser) true.
func (e *NoSuchUserError) Is(target error) bool { return target == ErrNoSuchUser }

func (e *NoSuchUserError) list() string {
	const show = 10
	parts := make([]string, 0, min(len(e.IDs), show))
	for _, id := range e.IDs[:min(len(e.IDs), show)] {
		parts = append(parts, strconv.FormatInt(id, 10))
	}
	if len(e.IDs) > show {
		parts = append(parts, "and "+strconv.Itoa(len(e.IDs)-show)+" more")
	}
	return strings.Join(parts, ", ")
}

// ValidationError names rejected fields.
type ValidationError map[string][]string

func (v ValidationError) Error() string {
	for k, m := range v {
		if len(m) > 0 {
			return "dialogs: " + k + " " + m[0]
		}
	}
	return "dialogs: invalid input"
}

// NewID returns a 24-hex id that is never all digits (the SDK takes a string
// of digits for a user id) and never holds _ @ / (it splits room JIDs on _).
func NewID(now time.Time) string {
	var b [12]byte
	for {
		ts := uint32(now.Unix())
		b[0], b[1], b[2], b[3] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		rand.Read(b[4:])
		id := hex.EncodeToString(b[:])
		if strings.IndexFunc(id, func(r rune) bool { return r >= 'a' }) >= 0 {
			return id
		}
	}
}

// ValidID reports whether s can be a dialog id.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	digits := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
			digits = false
		default:
			return false
		}
	}
	return !digits
}

// RoomJID is the MUC address of a non-private dialog.
// RoomAddress is d's room JID: its client-chosen name, or <appId>_<id>.
func (d *Dialog) RoomAddress(mucDomain string) string {
	if d.Room != "" {
		return d.Room + "@" + mucDomain
	}
	return RoomJID(d.AppID, d.ID, mucDomain)
}

// ValidRoomName accepts a room name a client may create: lower-case
// letters, digits, '.', '-' and '_', at most 64, and never the shape of a
// dialog's own address (<appId>_<id>).
func ValidRoomName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	_, _, own := ParseRoomLocal(s)
	return !own
}

func RoomJID(appID int64, id, mucDomain string) string {
	return strconv.FormatInt(appID, 10) + "_" + id + "@" + mucDomain
}

// ParseRoomLocal splits "<appId>_<dialogId>".
func ParseRoomLocal(local string) (appID int64, id string, ok bool) {
	i := strings.IndexByte(local, '_')
	if i <= 0 {
		return 0, "", false
	}
	a, err := strconv.ParseInt(local[:i], 10, 64)
	if err != nil || a <= 0 || !ValidID(local[i+1:]) {
		return 0, "", false
	}
	return a, local[i+1:], true
}

// HasOccupant reports whether uid occupies d.
func (d *Dialog) HasOccupant(uid int64) bool { return slices.Contains(d.Occupants, uid) }

// IsAdmin reports owner or admin.
func (d *Dialog) IsAdmin(uid int64) bool { return uid == d.OwnerID || slices.Contains(d.Admins, uid) }

// CanRead reports whether uid may see d and its messages.
func (d *Dialog) CanRead(uid int64) bool {
	switch d.Type {
	case Public:
		return d.AllowPreview || d.HasOccupant(uid) || d.IsAdmin(uid)
	case Broadcast:
		return true
	}
	return d.HasOccupant(uid)
}

// CanPost reports whether uid may send to d: an occupant whose voice was
// not revoked.
func (d *Dialog) CanPost(uid int64) bool {
	if d.Type == Broadcast {
		return d.IsAdmin(uid)
	}
	return d.HasOccupant(uid) && (d.IsAdmin(uid) || !slices.Contains(d.Settings.Voiceless, uid))
}

// RoomSettings are a dialog's settings as a room (XEP-0045 10.2) that the
// dialog fields do not already say; the REST API leaves them alone.
type RoomSettings struct {
	Subject   string `json:"subject,omitempty" bson:"subject,omitempty"`
	SubjectBy int64  `json:"subject_by,omitempty" bson:"subject_by,omitempty"`
	Hidden    bool   `json:"hidden,omitempty" bson:"hidden,omitempty"`     // not listed to non-members
	Password  string `json:"password,omitempty" bson:"password,omitempty"` // asked of joiners who are not members
	History   int    `json:"history,omitempty" bson:"history,omitempty"`   // messages sent on join; 0 is the default
	// WhoisModerators shows occupants' real JIDs to moderators only.
	WhoisModerators bool    `json:"whois_moderators,omitempty" bson:"whois_moderators,omitempty"`
	Voiceless       []int64 `json:"voiceless,omitempty" bson:"voiceless,omitempty"` // members a moderator silenced
	Banned          []int64 `json:"banned,omitempty" bson:"banned,omitempty"`       // kept out until an admin adds them back
}

// IsBanned reports whether uid is kept out of d (it can neither join it as
// a room nor subscribe to it).
func (d *Dialog) IsBanned(uid int64) bool { return slices.Contains(d.Settings.Banned, uid) }

// Room settings' bounds.
const (
	MaxSubject     = 1000
	MaxPassword    = 128
	MaxRoomHistory = 100
	MaxVoiceless   = 1000
	MaxBanned      = 1000
)

// Recipients are the users a message in d goes to. Broadcast dialogs reach
// every user of the app and are delivered by the caller.
func (d *Dialog) Recipients() []int64 { return d.Occupants }

// PeerOf returns the other occupant of a private dialog.
func (d *Dialog) PeerOf(uid int64) int64 {
	for _, o := range d.Occupants {
		if o != uid {
			return o
		}
	}
	return 0
}

func addUnique(list []int64, vs ...int64) []int64 {
	for _, v := range vs {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

func removeAll(list []int64, vs ...int64) []int64 {
	out := list[:0:0]
	for _, x := range list {
		if !slices.Contains(vs, x) {
			out = append(out, x)
		}
	}
	return out
}
