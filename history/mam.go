package history

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/quota"
)

// The message archive of XEP-0313 (MAM, urn:xmpp:mam:2) is the archive the
// REST history reads: the same stored messages, ids and hiding rules. A
// query reads one of two scopes:
//
//   - a dialog (a room, or any dialog the viewer may read, by the rules of
//     Archive.List): its messages in dialog order (seq);
//   - the viewer's 1-1 archive: the messages of every private dialog the
//     viewer is in, in insertion order across those dialogs (sqlite: the
//     messages' rowid; mongo: a per-app counter stamped at insert), or of
//     the one private dialog with a peer (With), in dialog order.
//
// Within a scope the order is total and stable, and what the viewer hid
// (clear history, delete for me) is never returned.

// ArchiveQuery is one archive query, with RSM paging (XEP-0059) by message
// id.
type ArchiveQuery struct {
	AppID  int64
	Viewer int64
	// DialogID queries one dialog's archive; empty queries the viewer's 1-1
	// archive.
	DialogID string
	// With narrows the 1-1 archive to the private dialog with this user.
	// It cannot be combined with DialogID.
	With int64
	// Start and End bound date_sent, both included; zero is unbounded.
	Start, End time.Time
	// AfterID asks for the page after this message (RSM <after>).
	AfterID string
	// BeforeID asks for the page before this message (RSM <before>id</before>).
	BeforeID string
	// Before pages backward: the page before BeforeID or, with BeforeID
	// empty, the last page (RSM <before/>). A BeforeID implies it.
	Before bool
	// IDs keeps only these messages (XEP-0313's ids field); at most
	// MAMLimits.MaxIDs.
	IDs []string
	// Max is the page size: DefaultPageSize when 0, at most MAMLimits.MaxPage.
	Max int
}

// ArchivePage is one page of an archive query.
type ArchivePage struct {
	// Messages are oldest first whichever the paging direction.
	Messages []Message
	// Complete: no more messages in the paging direction (XEP-0313
	// complete='true'): after the page when paging forward, before it
	// when paging backward.
	Complete bool
	// FirstID and LastID are the ids of the first and last message (RSM
	// <first> and <last>); empty when the page is.
	FirstID, LastID string
	// Count is the number of messages the query matches, or -1 when it is
	// not known without a scan (RSM <count> is then left out). It is known
	// when a query without AfterID and BeforeID fits in one page.
	Count int
}

// DefaultPageSize is the page size of a query that gives none.
const DefaultPageSize = 50

// ClockSlack is how far date_sent may run out of insertion order: dates
// are stamped before the message is stored, by the clock of the node that
// took it. Stores turn a query's Start and End into an index range on the
// archive order with this margin, so a date bound never costs a scan of
// the archive before it.
const ClockSlack = 5 * time.Minute

// ArchiveRange is what a store scans for one archive page once the rules
// are applied: the scope resolved, the viewer allowed, the sizes bounded.
type ArchiveRange struct {
	AppID, Viewer int64
	// DialogID scans one dialog by seq; empty scans the viewer's private
	// messages, every private dialog, in insertion order.
	DialogID string
	// Start, End bound date_sent, both included; zero is unbounded.
	Start, End time.Time
	// AfterID and BeforeID exclude their message and everything before
	// (after) it. An id that is no message of the scope is ErrNotFound;
	// a message the viewer hid is still a valid bound.
	AfterID, BeforeID string
	// Backward scans from the newest end of the range down.
	Backward bool
	// IDs, when not empty, keeps only these messages.
	IDs []string
	// Limit is how many messages to return at most.
	Limit int
}

// MAMStore is the store's side of archive queries and preferences.
type MAMStore interface {
	// ArchiveScan returns up to r.Limit messages of the range the viewer
	// has not hidden, in scan order: oldest first, newest first when
	// r.Backward. Reactions and read flags are not filled.
	ArchiveScan(ctx context.Context, r ArchiveRange) ([]Message, error)
	// ArchivePrefs returns a user's preferences; ErrNotFound when the user
	// never set any.
	ArchivePrefs(ctx context.Context, appID, uid int64) (*ArchivePrefs, error)
	SetArchivePrefs(ctx context.Context, appID, uid int64, p *ArchivePrefs) error
}

// Archiving defaults of XEP-0313 preferences.
const (
	PrefsAlways = "always"
	PrefsNever  = "never"
	PrefsRoster = "roster"
)

// ArchivePrefs are a user's archiving preferences (XEP-0313 <prefs/>).
type ArchivePrefs struct {
	// Default is PrefsAlways, PrefsNever or PrefsRoster.
	Default string
	// Always and Never list JIDs archived always, never (Never wins).
	Always, Never []string
}

// DefaultArchivePrefs are the preferences of a user who set none.
func DefaultArchivePrefs() ArchivePrefs { return ArchivePrefs{Default: PrefsAlways} }

// MaxPrefsJID bounds one JID of the preferences' lists (RFC 7622: 3 parts
// of at most 1023 bytes).
const MaxPrefsJID = 3071

// MAMLimits bound archive queries and preferences. Zero disables a limit.
// Every field is a parley serve setting, named in its comment.
type MAMLimits struct {
	// MaxPage bounds a page (mam-max-page); a larger Max is lowered.
	MaxPage int
	// MaxIDs bounds a query's IDs (mam-max-ids); more is refused.
	MaxIDs int
	// MaxPrefsJIDs bounds each of the Always and Never lists
	// (mam-prefs-jids); more is refused.
	MaxPrefsJIDs int
}

// DefaultMAMLimits are the limits of a new MAM.
func DefaultMAMLimits() MAMLimits { return MAMLimits{MaxPage: 100, MaxIDs: 100, MaxPrefsJIDs: 1000} }

// MAM answers archive queries and keeps archiving preferences.
type MAM struct {
	store   MAMStore
	dialogs *dialogs.Service
	limits  atomic.Pointer[MAMLimits]
}

// NewMAM returns a MAM with DefaultMAMLimits.
func NewMAM(store MAMStore, ds *dialogs.Service) *MAM {
	m := &MAM{store: store, dialogs: ds}
	m.SetLimits(DefaultMAMLimits())
	return m
}

// SetLimits replaces the limits (safe while serving: a reload).
func (m *MAM) SetLimits(l MAMLimits) { m.limits.Store(&l) }

// Limits returns the limits in force.
func (m *MAM) Limits() MAMLimits { return *m.limits.Load() }

// Query answers one archive query. Errors: ErrNotFound when the dialog is
// not one the viewer may read, or when AfterID or BeforeID is no message of
// the scope (XMPP item-not-found); ErrInvalid for DialogID with With; a
// *quota.Error matching ErrInvalid for too many IDs (policy-violation).
func (m *MAM) Query(ctx context.Context, q ArchiveQuery) (*ArchivePage, error) {
	lim := m.Limits()
	if q.DialogID != "" && q.With != 0 {
		return nil, ErrInvalid
	}
	if lim.MaxIDs > 0 && len(q.IDs) > lim.MaxIDs {
		e := quota.Cap("mam-max-ids", lim.MaxIDs, "too many ids in an archive query")
		e.Err = ErrInvalid
		return nil, e
	}
	size := q.Max
	if size <= 0 {
		size = DefaultPageSize
	}
	if lim.MaxPage > 0 {
		size = min(size, lim.MaxPage)
	}
	r := ArchiveRange{AppID: q.AppID, Viewer: q.Viewer, DialogID: q.DialogID, Start: q.Start, End: q.End,
		AfterID: q.AfterID, BeforeID: q.BeforeID, Backward: q.Before || q.BeforeID != "", Limit: size + 1}
	for _, id := range []string{q.AfterID, q.BeforeID} {
		if id != "" && !ValidMessageID(id) {
			return nil, ErrNotFound // no stored message has it
		}
	}
	if q.IDs != nil {
		// An id no message can have matches nothing; an empty list too.
		r.IDs = []string{}
		for _, id := range q.IDs {
			if ValidMessageID(id) && !slices.Contains(r.IDs, id) {
				r.IDs = append(r.IDs, id)
			}
		}
	}
	switch {
	case q.DialogID != "":
		if _, err := readable(ctx, m.dialogs, q.AppID, q.Viewer, q.DialogID); err != nil {
			return nil, err
		}
	case q.With != 0:
		d, err := m.dialogs.Private(ctx, q.AppID, q.Viewer, q.With)
		if errors.Is(err, dialogs.ErrNotFound) || err == nil && !d.CanRead(q.Viewer) {
			if q.AfterID != "" || q.BeforeID != "" {
				return nil, ErrNotFound
			}
			return &ArchivePage{Complete: true}, nil // no dialog yet, no messages
		}
		if err != nil {
			return nil, err
		}
		r.DialogID = d.ID
	}
	var msgs []Message
	emptyRange := q.IDs != nil && len(r.IDs) == 0 || !q.Start.IsZero() && !q.End.IsZero() && q.End.Before(q.Start)
	if emptyRange {
		r.IDs, r.Limit = nil, 1
	}
	if !emptyRange || q.AfterID != "" || q.BeforeID != "" {
		// An empty range still checks its bounds: an unknown id is an error.
		var err error
		if msgs, err = m.store.ArchiveScan(ctx, r); err != nil {
			return nil, err
		}
		if emptyRange {
			msgs = nil
		}
	}
	page := &ArchivePage{Complete: len(msgs) <= size, Count: -1}
	if !page.Complete {
		msgs = msgs[:size]
	}
	if r.Backward {
		slices.Reverse(msgs)
	}
	page.Messages = msgs
	if len(msgs) > 0 {
		page.FirstID, page.LastID = msgs[0].ID, msgs[len(msgs)-1].ID
	}
	if page.Complete && q.AfterID == "" && q.BeforeID == "" {
		page.Count = len(msgs)
	}
	return page, nil
}

// Prefs returns a user's archiving preferences, DefaultArchivePrefs when
// the user set none.
func (m *MAM) Prefs(ctx context.Context, appID, uid int64) (*ArchivePrefs, error) {
	p, err := m.store.ArchivePrefs(ctx, appID, uid)
	if errors.Is(err, ErrNotFound) {
		d := DefaultArchivePrefs()
		return &d, nil
	}
	return p, err
}

// SetPrefs replaces a user's archiving preferences and returns them as
// stored (duplicates dropped), which is what XEP-0313 answers. Errors:
// ErrInvalid for an unknown default or a malformed JID; a *quota.Error
// matching ErrInvalid for a list longer than MAMLimits.MaxPrefsJIDs.
func (m *MAM) SetPrefs(ctx context.Context, appID, uid int64, p ArchivePrefs) (*ArchivePrefs, error) {
	switch p.Default {
	case PrefsAlways, PrefsNever, PrefsRoster:
	default:
		return nil, ErrInvalid
	}
	lim := m.Limits()
	out := &ArchivePrefs{Default: p.Default}
	for _, l := range []struct {
		name string
		in   []string
		out  *[]string
	}{{"always", p.Always, &out.Always}, {"never", p.Never, &out.Never}} {
		*l.out = []string{}
		for _, j := range l.in {
			if !validPrefsJID(j) {
				return nil, ErrInvalid
			}
			if !slices.Contains(*l.out, j) {
				*l.out = append(*l.out, j)
			}
		}
		if lim.MaxPrefsJIDs > 0 && len(*l.out) > lim.MaxPrefsJIDs {
			e := quota.Cap("mam-prefs-jids", lim.MaxPrefsJIDs, "too many JIDs in the archiving preferences' "+l.name+" list")
			e.Err = ErrInvalid
			return nil, e
		}
	}
	if err := m.store.SetArchivePrefs(ctx, appID, uid, out); err != nil {
		return nil, err
	}
	return out, nil
}

func validPrefsJID(j string) bool {
	return j != "" && len(j) <= MaxPrefsJID && utf8.ValidString(j) &&
		strings.IndexFunc(j, func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0
}

// ShouldArchive applies a user's preferences to a message with peerJID
// (XEP-0313 §6): a JID on Never is not archived, one on Always is, any other
// by Default (roster: when the peer is in the user's roster). JIDs compare
// as bare JIDs, without case. A nil p is DefaultArchivePrefs.
//
// The archive keeps one copy of a message for both parties, so an app that
// archives every message (accounts.App.ArchiveAll) stores a 1-1 message
// when both its sender's and its recipient's preferences allow it; a
// message sent with save_to_history=1 is stored whatever the preferences,
// as ConnectyCube clients expect.
func ShouldArchive(p *ArchivePrefs, peerJID string, inRoster bool) bool {
	if p == nil {
		d := DefaultArchivePrefs()
		p = &d
	}
	peer := bareJID(peerJID)
	for _, j := range p.Never {
		if bareJID(j) == peer {
			return false
		}
	}
	for _, j := range p.Always {
		if bareJID(j) == peer {
			return true
		}
	}
	switch p.Default {
	case PrefsNever:
		return false
	case PrefsRoster:
		return inRoster
	}
	return true
}

func bareJID(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		j = j[:i]
	}
	return strings.ToLower(j)
}

// Refuses reports whether either party's preferences keep a 1-1 message
// out of the archive: under an app's archive-all policy, where the sender
// did not ask for it to be saved. The archive keeps one copy for both, so
// either one's "never" wins. Rosters are not consulted yet: a "roster"
// default archives nothing.
func (m *MAM) Refuses(ctx context.Context, appID, sender int64, senderJID string, recipient int64, recipientJID string) bool {
	for _, side := range []struct {
		uid  int64
		peer string
	}{{sender, recipientJID}, {recipient, senderJID}} {
		p, err := m.Prefs(ctx, appID, side.uid)
		if err != nil {
			continue // a hiccup reading preferences archives, as by default
		}
		if !ShouldArchive(p, side.peer, false) {
			return true
		}
	}
	return false
}
