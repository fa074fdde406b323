// Package rosters holds users' rosters and presence subscriptions (RFC 6121)
// with roster versioning (RFC 6121 §2.6, formerly XEP-0237).
//
// # Model
//
// A roster belongs to an Owner (app id + user id) and holds one Item per
// contact, keyed by the contact's bare JID, lower-cased (NormalizeJID).
// Contacts are usually users of the same app, <userId>-<appId>@<domain>,
// but any JID is allowed. Besides name and groups an item carries the
// subscription state of RFC 6121 Appendix A: Subscription (none, to, from,
// both), Ask (pending out), PendingIn with the request's status text
// (pending in) and Approved (pre-approved, §3.4). A subscription request
// from someone who is not on the roster is kept as a Hidden item: it is
// neither listed nor pushed, and it goes away when the request is answered
// or withdrawn (RFC 6121 §3.1.3: the request does not add the sender to
// the roster).
//
// Every stored change increases the owner's roster version, a counter.
// Get answers "unchanged" when the client's ver is the current one, else
// the whole roster; roster pushes carry the version of their change.
//
// # The state machine
//
// Outbound and Inbound are the RFC 6121 state tables as pure functions:
// given the owner's item for a contact and a subscription stanza the owner
// sends (Outbound) or receives (Inbound), they return the item after it,
// whether a roster push is due, whether the stanza goes on (routed to the
// contact, or delivered to the owner), an auto-reply sent on the owner's
// behalf (subscribed when pre-approved or already approved), and whether
// presence is to be shared or withdrawn.
//
// # The service and its consumer
//
// Service applies the machine to stored rosters. The XMPP module calls:
//
//   - Get on a roster get (jabber:iq:roster), with the ver attribute the
//     client sent; when Unchanged, it answers an empty result.
//   - Set on a roster set adding or updating an item (name, groups), and
//     Remove on a roster set with subscription="remove".
//   - Outbound when a user sends presence of type subscribe, subscribed,
//     unsubscribe or unsubscribed (to the bare JID of its 'to'); Inbound
//     when such a stanza arrives from a JID that is not a user of the
//     owner's app (another server).
//   - Pending at a session's initial presence, to deliver the subscription
//     requests still waiting for an answer (RFC 6121 §3.1.3).
//   - Items (and Item.Subscription.From / To) for presence broadcast and
//     probes.
//
// Every change returns a *Result: the roster pushes to send (owner, item,
// version; Removed for subscription="remove") and the presence stanzas to
// route (From, To, Type, Status), in order. Both JIDs are bare. A Stanza
// of type Subscribe, Subscribed, Unsubscribe or Unsubscribed is one
// presence stanza: to a local user it goes to their available resources
// only (a request to a user who is offline stays pending and Pending hands
// it out at login); to anyone else it is routed. Available and Unavailable
// are not stanzas but instructions: send the current presence of each of
// From's available resources to To, or an unavailable presence from each
// of them.
//
// When the contact is a user of the same app, the service applies the
// event to both rosters, and the auto-reply to the sender's: the stanza
// flow between two servers, run in one call. It needs no transactions:
// each roster's change is one compare-and-set write of one item, computed
// from that item as stored (re-read and recomputed when another writer
// came first), and every transition is idempotent. A crash between the
// two writes is then a stanza lost between two servers: each side's state
// is still a valid RFC 6121 state, and the user sending the stanza again
// completes the change without doing anything twice.
//
// Forget deletes a deleted user's roster. Item.Approved is only
// meaningful to clients when the server advertises pre-approval support
// (urn:xmpp:features:pre-approval), which this package implements.
//
// # Errors
//
// Refusals are ErrInvalid (a bad JID or event: bad-request / jid-malformed),
// ErrNotAcceptable (a name, group or status the limits or XML refuse:
// not-acceptable), ErrNoUser (a JID of this domain that is not a user of
// the owner's app: item-not-found), ErrNotFound (removing an item not on
// the roster: item-not-found) and *quota.Error matching ErrLimit or
// ErrNotAcceptable for the caps in Limits (policy-violation, naming the
// setting). ErrConflict is the store's: an item changed under a write; the
// service retries it and only returns it when an item keeps changing.
package rosters

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"mellium.im/xmpp/jid"

	"github.com/parley-chat/parley/internal/xmltext"
)

// Owner is the user a roster belongs to.
type Owner struct {
	AppID, UserID int64
}

// Subscription is an item's subscription attribute.
type Subscription string

// Subscription states (RFC 6121 §2.1.2.5). The zero value reads as None.
const (
	None Subscription = "none" // neither has a subscription to the other
	To   Subscription = "to"   // the owner receives the contact's presence
	From Subscription = "from" // the contact receives the owner's presence
	Both Subscription = "both"
)

// To reports whether the owner is subscribed to the contact's presence.
func (s Subscription) To() bool { return s == To || s == Both }

// From reports whether the contact is subscribed to the owner's presence:
// the owner's presence broadcast goes to the contact.
func (s Subscription) From() bool { return s == From || s == Both }

func subscription(to, from bool) Subscription {
	switch {
	case to && from:
		return Both
	case to:
		return To
	case from:
		return From
	}
	return None
}

// Item is one contact of a roster.
type Item struct {
	JID          string // bare, lower-cased: see NormalizeJID
	Name         string
	Groups       []string
	Subscription Subscription
	Ask          bool // the owner asked to subscribe; no answer yet (ask="subscribe")
	Approved     bool // the owner pre-approved the contact's subscription (RFC 6121 §3.4)
	PendingIn    bool // the contact asked to subscribe; the owner has not answered
	Status       string
	// Hidden marks an item kept only for PendingIn: the contact is not on
	// the roster, so the item is neither listed nor pushed.
	Hidden bool
	// Rev is the store's revision of the item, opaque and never 0 once
	// stored. PutRosterItem writes only over the revision it was given.
	Rev int64
}

// visible is what a roster push shows of an item; nil when it is not on
// the roster.
func (it *Item) visible() *Item {
	if it == nil || it.Hidden {
		return nil
	}
	return &Item{JID: it.JID, Name: it.Name, Groups: it.Groups, Subscription: it.sub(), Ask: it.Ask, Approved: it.Approved}
}

func (it *Item) sub() Subscription {
	if it.Subscription == "" {
		return None
	}
	return it.Subscription
}

// same reports whether a and b hold the same state (revisions aside).
func same(a, b *Item) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.JID == b.JID && a.Name == b.Name && slices.Equal(a.Groups, b.Groups) && a.sub() == b.sub() &&
		a.Ask == b.Ask && a.Approved == b.Approved && a.PendingIn == b.PendingIn && a.Status == b.Status && a.Hidden == b.Hidden
}

func (it *Item) clone() *Item {
	if it == nil {
		return nil
	}
	c := *it
	c.Groups = slices.Clone(it.Groups)
	c.Subscription = it.sub()
	return &c
}

// Request is a subscription request waiting for the owner's answer.
type Request struct {
	From   string // the contact's bare JID
	Status string // the request's status text
}

// Errors. Cap refusals are *quota.Error values that also match ErrLimit
// or ErrNotAcceptable (errors.Is).
var (
	ErrInvalid       = errors.New("rosters: invalid JID or request")
	ErrNotAcceptable = errors.New("rosters: name, group or status not acceptable")
	ErrLimit         = errors.New("rosters: over a roster limit")
	ErrNoUser        = errors.New("rosters: no such user in this app")
	ErrNotFound      = errors.New("rosters: no such roster item")
	ErrConflict      = errors.New("rosters: the roster item changed meanwhile; try again")
)

// Store keeps rosters. Items are keyed by owner and contact JID. Writes
// are compare-and-set on Item.Rev, so two writers of one item never lose
// each other's change: the second gets ErrConflict and re-reads.
//
// A write stores the item and raises the version. A store without
// transactions must do it in that order, item first: Service.Get reads
// the version before the items, so an item written after Get read it
// raises the version past what Get returned, and the client that missed
// it is sent the whole roster next time rather than "unchanged". Only a
// crash between the two writes can leave a change unversioned; the next
// change of that roster versions it.
type Store interface {
	// RosterVersion returns the owner's roster version (0 before any
	// change).
	RosterVersion(ctx context.Context, o Owner) (int64, error)
	// RosterItems returns all the owner's items, Hidden ones included,
	// ordered by JID.
	RosterItems(ctx context.Context, o Owner) ([]Item, error)
	// RosterItem returns one item, or ErrNotFound.
	RosterItem(ctx context.Context, o Owner, jid string) (*Item, error)
	// PendingRosterItems returns the owner's items with PendingIn, ordered
	// by JID.
	PendingRosterItems(ctx context.Context, o Owner) ([]Item, error)
	// CountRosterItems returns how many items are on the roster (not
	// Hidden) and how many have PendingIn.
	CountRosterItems(ctx context.Context, o Owner) (items, pending int, err error)
	// PutRosterItem stores it if the stored item's revision is it.Rev (0:
	// there must be none), else returns ErrConflict. It sets it.Rev to the
	// new revision, increases the roster version and returns it.
	PutRosterItem(ctx context.Context, o Owner, it *Item) (version int64, err error)
	// DeleteRosterItem deletes the item if its revision is rev, else
	// returns ErrConflict (ErrNotFound when there is none). It increases
	// the roster version and returns it.
	DeleteRosterItem(ctx context.Context, o Owner, jid string, rev int64) (version int64, err error)
	// DeleteRoster deletes the owner's items and version (the user is
	// gone).
	DeleteRoster(ctx context.Context, o Owner) error
}

// Users tells which user ids of an app exist (dialogs.Users has the same
// method, so every store provides it).
type Users interface {
	MissingUsers(ctx context.Context, appID int64, ids []int64) ([]int64, error)
}

// maxJID is the longest JID RFC 7622 allows: three parts of 1023 bytes
// and two separators.
const maxJID = 3071

// NormalizeJID returns the bare form of a JID, lower-cased (PRECIS case
// mapping for non-ASCII), or ErrInvalid.
func NormalizeJID(s string) (string, error) {
	if s == "" || len(s) > maxJID {
		return "", ErrInvalid
	}
	if asciiJID(s) {
		bare, _, _ := strings.Cut(s, "/")
		local, domain, hasLocal := strings.Cut(bare, "@")
		if domain == "" && !hasLocal {
			domain, local = local, ""
		}
		if domain == "" || hasLocal && local == "" || strings.ContainsAny(domain, "@") {
			return "", ErrInvalid
		}
		return strings.ToLower(bare), nil
	}
	j, err := jid.Parse(s)
	if err != nil {
		return "", ErrInvalid
	}
	bare := j.Bare().String()
	if !xmltext.ValidText(bare) || strings.ContainsAny(bare, " \t\r\n\"&'<>") {
		return "", ErrInvalid
	}
	return bare, nil
}

// asciiJID reports whether s is printable ASCII without characters no JID
// part allows; such JIDs need no PRECIS preparation beyond lower-casing.
func asciiJID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == '&' || c == '\'' || c == '<' || c == '>' {
			return false
		}
	}
	bare, _, _ := strings.Cut(s, "/")
	return strings.Count(bare, "@") <= 1
}

// UserJID is the bare JID of a user of an app on domain.
func UserJID(o Owner, domain string) string {
	return strconv.FormatInt(o.UserID, 10) + "-" + strconv.FormatInt(o.AppID, 10) + "@" + strings.ToLower(domain)
}

// parseUserJID reads a normalized bare JID of domain as a user, ok false
// when its localpart is not <userId>-<appId>.
func parseUserJID(bare, domain string) (o Owner, ours, ok bool) {
	local, d, found := strings.Cut(bare, "@")
	if !found {
		local, d = "", bare
	}
	if d != domain {
		return Owner{}, false, false
	}
	i := strings.IndexByte(local, '-')
	if i <= 0 {
		return Owner{}, true, false
	}
	u, err1 := strconv.ParseInt(local[:i], 10, 64)
	a, err2 := strconv.ParseInt(local[i+1:], 10, 64)
	if err1 != nil || err2 != nil || u <= 0 || a <= 0 {
		return Owner{}, true, false
	}
	return Owner{AppID: a, UserID: u}, true, true
}
