// Package history is the message archive: messages stored with the
// client's stanza id as their _id, delivered and read receipts, edits,
// deletions, reactions, unread counts and search.
package history

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/dialogs"
)

// Message is one stored message.
type Message struct {
	ID          string // the sender's stanza id
	AppID       int64
	DialogID    string
	Seq         int64 // position in the dialog (1, 2, ...)
	SenderID    int64
	RecipientID int64 // the peer in a private dialog, 0 otherwise
	Body        string
	DateSent    int64 // unix seconds, stamped by the server
	Attachments []map[string]string
	// Custom holds the other extraParams keys: strings, or nested
	// map[string]any for structured values.
	Custom       map[string]any
	ReadIDs      []int64
	DeliveredIDs []int64
	Reactions    map[string][]int64 // reaction -> users (filled on listing)
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Read is set on listing: whether the viewer has read it.
	Read bool
}

// Errors.
var (
	ErrNotFound  = errors.New("history: not found")
	ErrForbidden = errors.New("history: forbidden")
	ErrInvalid   = errors.New("history: invalid")
)

// Filter is one condition on a message listing.
type Filter struct {
	Field  string // "_id", "message", "date_sent", "sender_id", "recipient_id", "attachments.type", "updated_at"
	Op     string
	Values []string
}

// Query lists a dialog's messages.
type Query struct {
	Filters []Filter
	Desc    bool // by date_sent; ascending by default
	Limit   int
	Skip    int
}

// Receipt kinds.
const (
	Delivered = "delivered"
	Read      = "read"
)

// Store keeps messages. Implementations make AppendMessage atomic: the
// message, the dialog's sequence and last-message fields, and the sender's
// read position change together.
type Store interface {
	// AppendMessage stores m unless the dialog already holds its id (then it
	// returns stored false and leaves m as given). It assigns m.Seq.
	AppendMessage(ctx context.Context, m *Message) (stored bool, err error)
	Message(ctx context.Context, appID int64, dialogID, id string) (*Message, error)
	// FindMessage locates a message by id alone, among the dialogs viewer
	// occupies (the newest if several have it): a message id is only unique
	// within its dialog, and another user's copy of an id must never be found.
	FindMessage(ctx context.Context, appID, viewer int64, id string) (*Message, error)
	Messages(ctx context.Context, appID, viewer int64, dialogID string, q Query) ([]Message, error)
	// Receipt records that uid has delivered or read ids (all messages when
	// ids is empty): per-message ids unless the dialog is large, and the
	// member's read position for reads.
	Receipt(ctx context.Context, appID int64, d *dialogs.Dialog, uid int64, kind string, ids []string) error
	EditMessage(ctx context.Context, appID int64, dialogID, id, body string, at time.Time) error
	DeleteMessages(ctx context.Context, appID int64, dialogID string, ids []string) error
	HideMessages(ctx context.Context, appID, uid int64, dialogID string, ids []string) error
	ClearHistory(ctx context.Context, appID, uid int64, dialogID string) error
	React(ctx context.Context, appID int64, m *Message, uid int64, add, remove string) error
	Reactions(ctx context.Context, appID int64, dialogID, id string) (map[string][]int64, error)
	UnreadCounts(ctx context.Context, appID, uid int64, dialogIDs []string) (map[string]int64, error)
	Search(ctx context.Context, appID, uid int64, q SearchQuery) ([]Message, error)
}

// SearchQuery searches message text in the dialogs a user can read.
type SearchQuery struct {
	Text      string
	DialogIDs []string
	Start     time.Time
	End       time.Time
	Limit     int
}

// Archive applies the message rules over a Store.
type Archive struct {
	store   Store
	dialogs *dialogs.Service
	now     func() time.Time
	// Files, when set, checks the uploaded files a message's attachments
	// name (by "uid") and lets the dialog's readers download them; its
	// refusal is the message's.
	Files Attachments
}

// Attachments checks and records the files messages attach.
type Attachments interface {
	Attach(ctx context.Context, app, sender int64, dialog string, uids []string) error
}

// NewArchive returns an Archive.
func NewArchive(store Store, ds *dialogs.Service) *Archive {
	return &Archive{store: store, dialogs: ds, now: time.Now}
}

// SetClock replaces the archive's clock, which stamps date_sent (tests of
// date-bounded queries).
func (a *Archive) SetClock(now func() time.Time) { a.now = now }

// MaxBody bounds a message's text.
const MaxBody = 64 << 10

// Post is what a sender submits.
type Post struct {
	ID          string          // client id; generated when empty
	DialogID    string          // empty for a 1-1 message: the private dialog is found or created
	Dialog      *dialogs.Dialog // DialogID's dialog when the caller has just loaded it: saves a lookup
	RecipientID int64
	Body        string
	Attachments []map[string]string
	Custom      map[string]any
	Save        bool
}

// Posted is the outcome of Send.
type Posted struct {
	Message *Message
	Dialog  *dialogs.Dialog
	Stored  bool // false for an unsaved message or a retried id
	// Duplicate marks a retry of an id the dialog already holds: it was
	// delivered the first time and is not relayed again.
	Duplicate bool
}

// Send checks that sender may post, stamps the date and stores the message
// when asked to. The same id in the same dialog is stored once.
func (a *Archive) Send(ctx context.Context, appID, sender int64, p Post) (*Posted, error) {
	if utf8.RuneCountInString(p.Body) > MaxBody {
		return nil, ErrInvalid
	}
	if p.ID == "" {
		p.ID = dialogs.NewID(a.now())
	}
	if !ValidMessageID(p.ID) {
		return nil, ErrInvalid
	}
	var d *dialogs.Dialog
	var err error
	switch {
	case p.Dialog != nil && p.Dialog.AppID == appID && p.Dialog.ID == p.DialogID:
		d = p.Dialog
	case p.DialogID != "":
		d, err = a.dialogs.Dialog(ctx, appID, p.DialogID)
	case p.RecipientID != 0 && p.RecipientID != sender:
		d, err = a.dialogs.EnsurePrivate(ctx, appID, sender, p.RecipientID)
	default:
		return nil, ErrInvalid
	}
	if errors.Is(err, dialogs.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if !d.CanPost(sender) {
		return nil, ErrForbidden
	}
	if d.Type == dialogs.Private && a.dialogs.Refuses(ctx, appID, sender, d.PeerOf(sender)) {
		return nil, dialogs.ErrBlocked
	}
	if a.Files != nil {
		var uids []string
		for _, at := range p.Attachments {
			if uid := at["uid"]; uid != "" {
				uids = append(uids, uid)
			}
		}
		if len(uids) > 0 {
			if err := a.Files.Attach(ctx, appID, sender, d.ID, uids); err != nil {
				return nil, err
			}
		}
	}
	now := a.now().UTC()
	m := &Message{ID: p.ID, AppID: appID, DialogID: d.ID, SenderID: sender, Body: p.Body, DateSent: now.Unix(),
		Attachments: p.Attachments, Custom: p.Custom, CreatedAt: now, UpdatedAt: now}
	if d.Type == dialogs.Private {
		m.RecipientID = d.PeerOf(sender)
	}
	out := &Posted{Message: m, Dialog: d}
	if p.Save {
		stored, err := a.store.AppendMessage(ctx, m)
		if err != nil {
			return nil, err
		}
		out.Stored = stored
		out.Duplicate = !stored
		if !stored {
			// A retry: answer with what was stored the first time.
			if prev, err := a.store.Message(ctx, appID, d.ID, p.ID); err == nil {
				out.Message = prev
			}
		}
	}
	return out, nil
}

// ValidMessageID accepts ids that are safe as keys and in URLs.
func ValidMessageID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	return strings.IndexFunc(id, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == ':' || r == '.')
	}) < 0
}

// readable returns the dialog if uid may read it.
func (a *Archive) readable(ctx context.Context, appID, uid int64, dialogID string) (*dialogs.Dialog, error) {
	return readable(ctx, a.dialogs, appID, uid, dialogID)
}

// readable returns the dialog if uid may read it: the rule of every
// archive read, REST and XMPP.
func readable(ctx context.Context, ds *dialogs.Service, appID, uid int64, dialogID string) (*dialogs.Dialog, error) {
	d, err := ds.Dialog(ctx, appID, dialogID)
	if errors.Is(err, dialogs.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if !d.CanRead(uid) {
		return nil, ErrNotFound
	}
	return d, nil
}

// List pages a dialog's messages for uid. With markRead, what uid has not
// read is marked read and returned in readNow (so senders can be told).
func (a *Archive) List(ctx context.Context, appID, uid int64, dialogID string, q Query, markRead bool) ([]Message, []Message, error) {
	d, err := a.readable(ctx, appID, uid, dialogID)
	if err != nil {
		return nil, nil, err
	}
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 100
	}
	msgs, err := a.store.Messages(ctx, appID, uid, dialogID, q)
	if err != nil {
		return nil, nil, err
	}
	var readNow []Message
	if markRead && d.HasOccupant(uid) {
		var ids []string
		for i := range msgs {
			if !msgs[i].Read && msgs[i].SenderID != uid {
				ids = append(ids, msgs[i].ID)
				readNow = append(readNow, msgs[i])
			}
		}
		if len(ids) > 0 {
			if err := a.store.Receipt(ctx, appID, d, uid, Read, ids); err != nil {
				return nil, nil, err
			}
		}
	}
	return msgs, readNow, nil
}

// Receipt marks ids (or every message when ids is empty) delivered or read
// by uid. It returns the messages concerned, for telling their senders.
func (a *Archive) Receipt(ctx context.Context, appID, uid int64, dialogID string, kind string, ids []string) (*dialogs.Dialog, []Message, error) {
	if dialogID == "" && len(ids) > 0 {
		m, err := a.store.FindMessage(ctx, appID, uid, ids[0])
		if err != nil {
			return nil, nil, err
		}
		dialogID = m.DialogID
	}
	d, err := a.readable(ctx, appID, uid, dialogID)
	if err != nil {
		return nil, nil, err
	}
	var msgs []Message
	for _, id := range ids {
		if m, err := a.store.Message(ctx, appID, dialogID, id); err == nil {
			msgs = append(msgs, *m)
		}
	}
	if len(ids) > 0 && len(msgs) == 0 {
		return d, nil, ErrNotFound
	}
	if !d.HasOccupant(uid) {
		return d, msgs, nil // a previewer's reads are not recorded
	}
	return d, msgs, a.store.Receipt(ctx, appID, d, uid, kind, ids)
}

// Edit replaces a message's text; only its author may.
func (a *Archive) Edit(ctx context.Context, appID, uid int64, dialogID, id, body string) (*Message, *dialogs.Dialog, error) {
	m, d, err := a.own(ctx, appID, uid, dialogID, id)
	if err != nil {
		return nil, nil, err
	}
	if m.SenderID != uid {
		return nil, nil, ErrForbidden
	}
	if utf8.RuneCountInString(body) > MaxBody {
		return nil, nil, ErrInvalid
	}
	if err := a.store.EditMessage(ctx, appID, m.DialogID, id, body, a.now().UTC()); err != nil {
		return nil, nil, err
	}
	m.Body = body
	return m, d, nil
}

func (a *Archive) own(ctx context.Context, appID, uid int64, dialogID, id string) (*Message, *dialogs.Dialog, error) {
	var m *Message
	var err error
	if dialogID == "" {
		m, err = a.store.FindMessage(ctx, appID, uid, id)
	} else {
		m, err = a.store.Message(ctx, appID, dialogID, id)
	}
	if err != nil {
		return nil, nil, err
	}
	d, err := a.readable(ctx, appID, uid, m.DialogID)
	if err != nil {
		return nil, nil, err
	}
	return m, d, nil
}

// Deleted lists what a delete did, for the live remove notifications.
type Deleted struct {
	Message *Message
	Dialog  *dialogs.Dialog
}

// Delete removes messages: for everyone with force (the author or a dialog
// admin), otherwise only from uid's own view.
func (a *Archive) Delete(ctx context.Context, appID, uid int64, dialogID string, ids []string, force bool) (ok []Deleted, notFound, wrong []string, err error) {
	for _, id := range ids {
		m, d, err := a.own(ctx, appID, uid, dialogID, id)
		if errors.Is(err, ErrNotFound) {
			notFound = append(notFound, id)
			continue
		}
		if err != nil {
			return nil, nil, nil, err
		}
		if force {
			if m.SenderID != uid && !d.IsAdmin(uid) {
				wrong = append(wrong, id)
				continue
			}
			err = a.store.DeleteMessages(ctx, appID, m.DialogID, []string{id})
		} else {
			err = a.store.HideMessages(ctx, appID, uid, m.DialogID, []string{id})
		}
		if err != nil {
			return nil, nil, nil, err
		}
		ok = append(ok, Deleted{m, d})
	}
	return ok, notFound, wrong, nil
}

// ClearHistory hides every current message of a dialog from uid.
func (a *Archive) ClearHistory(ctx context.Context, appID, uid int64, dialogID string) error {
	if _, err := a.readable(ctx, appID, uid, dialogID); err != nil {
		return err
	}
	return a.store.ClearHistory(ctx, appID, uid, dialogID)
}

// MaxReaction bounds a reaction's length (an emoji sequence).
const MaxReaction = 32

// React adds and/or removes uid's reactions on message id.
func (a *Archive) React(ctx context.Context, appID, uid int64, id, add, remove string) (*Message, *dialogs.Dialog, error) {
	if add == "" && remove == "" || len(add) > MaxReaction || len(remove) > MaxReaction {
		return nil, nil, ErrInvalid
	}
	m, d, err := a.own(ctx, appID, uid, "", id)
	if err != nil {
		return nil, nil, err
	}
	if !d.HasOccupant(uid) {
		return nil, nil, ErrForbidden
	}
	return m, d, a.store.React(ctx, appID, m, uid, add, remove)
}

// Reactions lists who reacted how to message id.
func (a *Archive) Reactions(ctx context.Context, appID, uid int64, id string) (map[string][]int64, error) {
	m, _, err := a.own(ctx, appID, uid, "", id)
	if err != nil {
		return nil, err
	}
	return a.store.Reactions(ctx, appID, m.DialogID, m.ID)
}

// Unread returns uid's unread counts for dialogIDs (all of uid's dialogs
// when empty) and their total.
func (a *Archive) Unread(ctx context.Context, appID, uid int64, dialogIDs []string) (map[string]int64, int64, error) {
	counts, err := a.store.UnreadCounts(ctx, appID, uid, dialogIDs)
	if err != nil {
		return nil, 0, err
	}
	var total int64
	for _, n := range counts {
		total += n
	}
	return counts, total, nil
}

// Search finds messages uid can read whose text contains q.Text.
func (a *Archive) Search(ctx context.Context, appID, uid int64, q SearchQuery) ([]Message, error) {
	if strings.TrimSpace(q.Text) == "" {
		return nil, ErrInvalid
	}
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 100
	}
	return a.store.Search(ctx, appID, uid, q)
}

// Message returns one message uid may read.
func (a *Archive) Message(ctx context.Context, appID, uid int64, id string) (*Message, *dialogs.Dialog, error) {
	return a.own(ctx, appID, uid, "", id)
}
