package rosters

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/parley-chat/parley/internal/xmltext"
	"github.com/parley-chat/parley/quota"
)

// Limits bound what one user can grow. Zero disables a limit. Every field
// is a parley serve setting, named in its comment.
type Limits struct {
	// MaxItems bounds the items on one roster (roster-items).
	MaxItems int
	// MaxGroups bounds the groups of one item (roster-groups-per-item).
	MaxGroups int
	// MaxTextLen bounds an item's name and each group name, in bytes
	// (roster-text-length).
	MaxTextLen int
	// MaxPending bounds the subscription requests waiting for one user's
	// answer (roster-pending-requests); beyond it new requests to the user
	// are refused.
	MaxPending int
	// MaxStatusLen bounds the status text kept with a pending request, in
	// bytes (roster-status-length).
	MaxStatusLen int
}

// DefaultLimits are the limits of a new Service.
func DefaultLimits() Limits {
	return Limits{MaxItems: 1000, MaxGroups: 32, MaxTextLen: 256, MaxPending: 500, MaxStatusLen: 1024}
}

// Service keeps rosters in a Store and runs the subscription state machine
// over them. See the package comment for how the XMPP module uses it.
type Service struct {
	store  Store
	users  Users // nil: every well-formed user JID of the app exists
	domain string
	limits atomic.Pointer[Limits]
}

// NewService returns a Service for the users of domain, with
// DefaultLimits. users tells which local users exist; nil trusts every
// <userId>-<appId> JID.
func NewService(store Store, users Users, domain string) *Service {
	s := &Service{store: store, users: users, domain: strings.ToLower(domain)}
	s.SetLimits(DefaultLimits())
	return s
}

// SetLimits replaces the limits (safe while serving: a reload).
func (s *Service) SetLimits(l Limits) { s.limits.Store(&l) }

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return *s.limits.Load() }

// JID returns the bare JID of a user.
func (s *Service) JID(o Owner) string { return UserJID(o, s.domain) }

// Roster is the answer to a roster get.
type Roster struct {
	Ver       string // the version to send as the query's ver attribute
	Unchanged bool   // the client's ver is current: Items is empty
	Items     []Item // the items on the roster (never Hidden), by JID
}

// Push is a roster push due to the owner's interested resources.
type Push struct {
	Owner   Owner
	Item    Item   // JID, Name, Groups, Subscription, Ask, Approved
	Removed bool   // push subscription="remove"
	Ver     string // the roster version after this change
}

// Stanza is a presence stanza to route, or a presence instruction
// (Available, Unavailable). From and To are bare JIDs.
type Stanza struct {
	From, To string
	Type     Type
	Status   string
}

// Result is what one roster change asks of the XMPP layer, in order.
type Result struct {
	Pushes  []Push
	Stanzas []Stanza
}

// Get returns the owner's roster, or Unchanged when ver is its current
// version (RFC 6121 §2.6). An empty or unknown ver gets the whole roster.
func (s *Service) Get(ctx context.Context, o Owner, ver string) (*Roster, error) {
	// The version is read before the items: a change stored after this
	// read raises the version after it (see Store), so a client that
	// misses it here is not told "unchanged" later.
	v, err := s.store.RosterVersion(ctx, o)
	if err != nil {
		return nil, err
	}
	r := &Roster{Ver: strconv.FormatInt(v, 10)}
	if ver != "" && ver == r.Ver {
		r.Unchanged = true
		return r, nil
	}
	if r.Items, err = s.Items(ctx, o); err != nil {
		return nil, err
	}
	return r, nil
}

// Items returns the items on the owner's roster (never Hidden), by JID.
func (s *Service) Items(ctx context.Context, o Owner) ([]Item, error) {
	all, err := s.store.RosterItems(ctx, o)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, it := range all {
		if !it.Hidden {
			out = append(out, it)
		}
	}
	return out, nil
}

// Pending returns the subscription requests waiting for the owner's
// answer, to deliver when a session becomes available (RFC 6121 §3.1.3).
func (s *Service) Pending(ctx context.Context, o Owner) ([]Request, error) {
	items, err := s.store.PendingRosterItems(ctx, o)
	if err != nil {
		return nil, err
	}
	out := make([]Request, 0, len(items))
	for _, it := range items {
		out = append(out, Request{From: it.JID, Status: it.Status})
	}
	return out, nil
}

// Forget deletes the owner's roster (the user was deleted).
func (s *Service) Forget(ctx context.Context, o Owner) error { return s.store.DeleteRoster(ctx, o) }

// ForgetUser implements accounts.UserData: a deleted user's roster goes.
func (s *Service) ForgetUser(ctx context.Context, app, user int64) error {
	return s.Forget(ctx, Owner{AppID: app, UserID: user})
}

// contact normalizes a contact JID for owner o; local is the contact as a
// user of o's app when it is one.
func (s *Service) contact(ctx context.Context, o Owner, raw string) (bare string, local *Owner, err error) {
	bare, err = NormalizeJID(raw)
	if err != nil {
		return "", nil, err
	}
	u, ours, ok := parseUserJID(bare, s.domain)
	if !ours {
		return bare, nil, nil
	}
	if !ok || u.AppID != o.AppID {
		return "", nil, fmt.Errorf("%w: %s is not a user of this app", ErrNoUser, bare)
	}
	if u == o {
		return "", nil, fmt.Errorf("%w: a roster cannot hold its owner", ErrInvalid)
	}
	if s.users != nil {
		missing, err := s.users.MissingUsers(ctx, o.AppID, []int64{u.UserID})
		if err != nil {
			return "", nil, err
		}
		if len(missing) > 0 {
			return "", nil, fmt.Errorf("%w: user %d", ErrNoUser, u.UserID)
		}
	}
	return s.JID(u), &u, nil // canonical: 05-1@d and 5-1@d are one user
}

// text checks a name or group against the limits and XML.
func (s *Service) text(what, v string, lim Limits) error {
	if lim.MaxTextLen > 0 && len(v) > lim.MaxTextLen {
		e := quota.Cap("roster-text-length", lim.MaxTextLen, what+" is too long")
		e.Err = ErrNotAcceptable
		return e
	}
	if !xmltext.ValidText(v) {
		return fmt.Errorf("%w: %s holds characters XML does not allow", ErrNotAcceptable, what)
	}
	return nil
}

// Set adds contact to the owner's roster or updates its name and groups,
// keeping its subscription state (RFC 6121 §2.3).
func (s *Service) Set(ctx context.Context, o Owner, contact, name string, groups []string) (*Result, error) {
	lim := s.Limits()
	if err := s.text("the item name", name, lim); err != nil {
		return nil, err
	}
	if lim.MaxGroups > 0 && len(groups) > lim.MaxGroups {
		e := quota.Cap("roster-groups-per-item", lim.MaxGroups, "too many groups on one roster item")
		e.Err = ErrLimit
		return nil, e
	}
	seen := make(map[string]bool, len(groups))
	for _, g := range groups {
		if g == "" {
			return nil, fmt.Errorf("%w: an empty group name", ErrNotAcceptable)
		}
		if err := s.text("group name "+strconv.Quote(truncate(g, 64)), g, lim); err != nil {
			return nil, err
		}
		if seen[g] {
			return nil, fmt.Errorf("%w: group %q is listed twice", ErrInvalid, truncate(g, 64))
		}
		seen[g] = true
	}
	jid, _, err := s.contact(ctx, o, contact)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	err = s.step(ctx, o, jid, res, func(cur *Item) (Transition, error) {
		it := start(cur, jid, false)
		it.Name, it.Groups, it.Hidden = name, slices.Clone(groups), false
		if len(it.Groups) == 0 {
			it.Groups = nil
		}
		t := transition(cur, it)
		t.Push = true // a roster set is always answered by a push (§2.3.2)
		return t, nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Remove deletes contact from the owner's roster, ending the subscriptions
// both ways and denying a pending request (RFC 6121 §2.5.2). ErrNotFound
// when the contact is not on the roster.
func (s *Service) Remove(ctx context.Context, o Owner, contact string) (*Result, error) {
	jid, local, err := s.contact(ctx, o, contact)
	if errors.Is(err, ErrNoUser) {
		// Items for users since deleted can still be removed.
		jid, err = NormalizeJID(contact)
		local = nil
	}
	if err != nil {
		return nil, err
	}
	res := &Result{}
	var before *Item
	err = s.step(ctx, o, jid, res, func(cur *Item) (Transition, error) {
		if cur == nil || cur.Hidden {
			return Transition{}, ErrNotFound
		}
		before = cur
		return Transition{Before: cur, Push: true}, nil
	})
	if err != nil {
		return nil, err
	}
	me := s.JID(o)
	if before.sub().To() || before.Ask {
		if err := s.deliver(ctx, me, jid, local, Unsubscribe, "", res); err != nil {
			return nil, err
		}
	}
	if before.sub().From() || before.PendingIn {
		if before.sub().From() {
			res.Stanzas = append(res.Stanzas, Stanza{From: me, To: jid, Type: Unavailable})
		}
		if err := s.deliver(ctx, me, jid, local, Unsubscribed, "", res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// Outbound applies a subscription stanza of typ the owner sends to
// contact; when the contact is a user of the same app, to both rosters.
func (s *Service) Outbound(ctx context.Context, o Owner, contact string, typ Type, status string) (*Result, error) {
	if !typ.subscription() {
		return nil, fmt.Errorf("%w: presence type %q is not a subscription", ErrInvalid, typ)
	}
	if err := s.status(status); err != nil {
		return nil, err
	}
	jid, local, err := s.contact(ctx, o, contact)
	if err != nil {
		return nil, err
	}
	me := s.JID(o)
	if local != nil && typ == Subscribe {
		// Refuse up front rather than leave the sender asking when the
		// contact can take no more requests; the contact's step checks
		// again.
		cur, err := s.store.RosterItem(ctx, *local, me)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err := s.room(ctx, *local, Inbound(cur, me, typ, status)); err != nil {
			return nil, err
		}
	}
	res := &Result{}
	var out Transition
	err = s.step(ctx, o, jid, res, func(cur *Item) (Transition, error) {
		out = Outbound(cur, jid, typ)
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	if out.Withdraw {
		res.Stanzas = append(res.Stanzas, Stanza{From: me, To: jid, Type: Unavailable})
	}
	if out.Route {
		if err := s.deliver(ctx, me, jid, local, typ, status, res); err != nil {
			return nil, err
		}
	}
	if out.Share {
		res.Stanzas = append(res.Stanzas, Stanza{From: me, To: jid, Type: Available})
	}
	return res, nil
}

// Inbound applies a subscription stanza of typ that from, a JID that is
// not a user of the owner's app (another server), sends to the owner.
func (s *Service) Inbound(ctx context.Context, o Owner, from string, typ Type, status string) (*Result, error) {
	if !typ.subscription() {
		return nil, fmt.Errorf("%w: presence type %q is not a subscription", ErrInvalid, typ)
	}
	if err := s.status(status); err != nil {
		return nil, err
	}
	jid, local, err := s.contact(ctx, o, from)
	if err != nil {
		return nil, err
	}
	if local != nil {
		return nil, fmt.Errorf("%w: %s is a local user: use Outbound for its stanzas", ErrInvalid, jid)
	}
	res := &Result{}
	if err := s.receive(ctx, o, jid, typ, status, res); err != nil {
		return nil, err
	}
	return res, nil
}

// deliver hands a stanza from `from` on to `to`: applied to to's roster
// when it is a local user (the inbound side, and any auto-reply back to
// from, who is always local), else routed.
func (s *Service) deliver(ctx context.Context, from, to string, local *Owner, typ Type, status string, res *Result) error {
	if local == nil {
		res.Stanzas = append(res.Stanzas, Stanza{From: from, To: to, Type: typ, Status: status})
		return nil
	}
	if err := s.receive(ctx, *local, from, typ, status, res); err != nil {
		return err
	}
	return nil
}

// receive applies an inbound stanza to the roster of local user o.
func (s *Service) receive(ctx context.Context, o Owner, from string, typ Type, status string, res *Result) error {
	me := s.JID(o)
	var in Transition
	err := s.step(ctx, o, from, res, func(cur *Item) (Transition, error) {
		in = Inbound(cur, from, typ, status)
		return in, nil
	})
	if err != nil {
		return err
	}
	if in.Withdraw {
		res.Stanzas = append(res.Stanzas, Stanza{From: me, To: from, Type: Unavailable})
	}
	if in.Route {
		res.Stanzas = append(res.Stanzas, Stanza{From: from, To: me, Type: typ, Status: status})
	}
	if in.Reply != "" {
		// The reply goes back to the sender: applied to its roster when
		// it is local (it always is when the event came from Outbound).
		u, ours, ok := parseUserJID(from, s.domain)
		if ours && ok && u.AppID == o.AppID {
			if err := s.receive(ctx, u, me, in.Reply, "", res); err != nil {
				return err
			}
		} else {
			res.Stanzas = append(res.Stanzas, Stanza{From: me, To: from, Type: in.Reply})
		}
	}
	if in.Share {
		res.Stanzas = append(res.Stanzas, Stanza{From: me, To: from, Type: Available})
	}
	return nil
}

func (s *Service) status(v string) error {
	lim := s.Limits()
	if lim.MaxStatusLen > 0 && len(v) > lim.MaxStatusLen {
		e := quota.Cap("roster-status-length", lim.MaxStatusLen, "the subscription request's status text is too long")
		e.Err = ErrNotAcceptable
		return e
	}
	if !xmltext.ValidText(v) {
		return fmt.Errorf("%w: the status holds characters XML does not allow", ErrNotAcceptable)
	}
	return nil
}

// pendingRoom refuses when o has MaxPending requests waiting already.
func (s *Service) pendingRoom(ctx context.Context, o Owner) error {
	lim := s.Limits()
	if lim.MaxPending <= 0 {
		return nil
	}
	_, pending, err := s.store.CountRosterItems(ctx, o)
	if err != nil {
		return err
	}
	if pending >= lim.MaxPending {
		e := quota.Cap("roster-pending-requests", lim.MaxPending, quota.User(o.UserID)+" has too many subscription requests waiting; try again later")
		e.Err = ErrLimit
		return e
	}
	return nil
}

// itemRoom refuses when o's roster holds MaxItems already.
func (s *Service) itemRoom(ctx context.Context, o Owner) error {
	lim := s.Limits()
	if lim.MaxItems <= 0 {
		return nil
	}
	items, _, err := s.store.CountRosterItems(ctx, o)
	if err != nil {
		return err
	}
	if items >= lim.MaxItems {
		e := quota.Cap("roster-items", lim.MaxItems, "the roster is full: remove a contact first")
		e.Err = ErrLimit
		return e
	}
	return nil
}

// maxAttempts bounds the re-reads of an item that other writers keep
// changing.
const maxAttempts = 16

// step changes one item of one roster: it reads the item, asks next for
// the transition, checks the caps the change grows, and stores the
// result over the revision it read, again from the read when another
// writer came first. Each step is one write of one roster, and every
// transition is idempotent (applying a stanza twice is applying it
// once), so a crash between the two rosters' steps is a stanza lost
// between two servers: the state each side holds stays valid, and the
// user sending the stanza again completes it. The push is appended to
// res.
func (s *Service) step(ctx context.Context, o Owner, jid string, res *Result, next func(cur *Item) (Transition, error)) error {
	for range maxAttempts {
		cur, err := s.store.RosterItem(ctx, o, jid)
		if errors.Is(err, ErrNotFound) {
			cur, err = nil, nil
		}
		if err != nil {
			return err
		}
		t, err := next(cur)
		if err != nil {
			return err
		}
		if err := s.room(ctx, o, t); err != nil {
			return err
		}
		var ver int64
		switch {
		case !t.Changed():
			if !t.Push {
				return nil
			}
			if ver, err = s.store.RosterVersion(ctx, o); err != nil {
				return err
			}
		case t.After == nil:
			ver, err = s.store.DeleteRosterItem(ctx, o, jid, cur.Rev)
		default:
			after := t.After.clone()
			after.Rev = 0
			if cur != nil {
				after.Rev = cur.Rev
			}
			ver, err = s.store.PutRosterItem(ctx, o, after)
		}
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) && t.After == nil {
			continue
		}
		if err != nil {
			return err
		}
		if t.Push {
			p := Push{Owner: o, Ver: strconv.FormatInt(ver, 10)}
			if v := t.After.visible(); v != nil {
				p.Item = *v
			} else {
				p.Item, p.Removed = Item{JID: jid, Subscription: None}, true
			}
			res.Pushes = append(res.Pushes, p)
		}
		return nil
	}
	return ErrConflict
}

// room checks the caps a transition grows: items on the roster and
// requests pending.
func (s *Service) room(ctx context.Context, o Owner, t Transition) error {
	if t.After == nil {
		return nil
	}
	if !t.After.Hidden && (t.Before == nil || t.Before.Hidden) {
		if err := s.itemRoom(ctx, o); err != nil {
			return err
		}
	}
	if t.After.PendingIn && (t.Before == nil || !t.Before.PendingIn) {
		if err := s.pendingRoom(ctx, o); err != nil {
			return err
		}
	}
	return nil
}
