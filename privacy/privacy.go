// Package privacy holds privacy lists (XEP-0016) as the ConnectyCube SDK
// encodes them, and decides who may reach whom.
//
// ConnectyCube convention: an item that lists stanza kinds as children
// blocks inbound traffic only; a deny item with no children blocks both ways
// (the mutual block). Only the user's default list is enforced; the SDK never
// sets an active list. Blocking commands (XEP-0191) are a view over the same
// default list.
package privacy

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/parley-chat/parley/quota"
)

// Kind is a stanza kind an item can name.
type Kind string

// Stanza kinds of XEP-0016.
const (
	Message     Kind = "message"
	PresenceIn  Kind = "presence-in"
	PresenceOut Kind = "presence-out"
	IQ          Kind = "iq"
)

// Item is one rule.
type Item struct {
	Type   string // "jid", "group", "subscription" or "" (fall-through)
	Value  string
	Action string // "allow" or "deny"
	Order  int
	Kinds  []Kind // empty: every kind, and with deny a mutual block
}

// List is a named, ordered list of items.
type List struct {
	Name  string
	Items []Item
}

// Errors.
var (
	ErrNotFound = errors.New("privacy: no such list")
	ErrInvalid  = errors.New("privacy: invalid list")
)

// Store keeps lists and the default choice.
type Store interface {
	PrivacyLists(ctx context.Context, appID, uid int64) (names []string, def string, err error)
	PrivacyList(ctx context.Context, appID, uid int64, name string) (*List, error)
	SetPrivacyList(ctx context.Context, appID, uid int64, l *List) error
	DeletePrivacyList(ctx context.Context, appID, uid int64, name string) error
	SetDefaultPrivacyList(ctx context.Context, appID, uid int64, name string) error // "" declines
}

// Target identifies the other party of a decision.
type Target struct {
	UserID int64 // 0 when the other party is not a user of the app
	JID    string
	InRoom bool // the traffic is group traffic (MUC nick items apply)
}

// Service manages lists and answers blocking questions, caching each
// user's compiled default list.
type Service struct {
	store     Store
	domain    string
	mucDomain string

	mu    sync.RWMutex
	cache map[[2]int64]*List // app,user -> default list (nil: none)

	limits atomic.Pointer[Limits]
}

// Limits bound one user's privacy lists. Zero disables a limit. Every field
// is a parley serve setting, named in its comment.
type Limits struct {
	// MaxLists bounds the lists of one user (privacy-lists-per-user).
	MaxLists int
	// MaxItems bounds the items of one list, blocks included
	// (privacy-list-items).
	MaxItems int
}

// DefaultLimits are the limits of a new Service.
func DefaultLimits() Limits { return Limits{MaxLists: 20, MaxItems: 1000} }

// SetLimits replaces the limits (safe while serving: a reload).
func (s *Service) SetLimits(l Limits) { s.limits.Store(&l) }

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return *s.limits.Load() }

// NewService returns a Service for the user domain and its MUC domain,
// with DefaultLimits.
func NewService(store Store, domain, mucDomain string) *Service {
	s := &Service{store: store, domain: domain, mucDomain: mucDomain, cache: map[[2]int64]*List{}}
	s.SetLimits(DefaultLimits())
	return s
}

// Names lists the user's lists and the default's name.
func (s *Service) Names(ctx context.Context, appID, uid int64) ([]string, string, error) {
	return s.store.PrivacyLists(ctx, appID, uid)
}

// Get returns one list.
func (s *Service) Get(ctx context.Context, appID, uid int64, name string) (*List, error) {
	return s.store.PrivacyList(ctx, appID, uid, name)
}

// Set creates or replaces a list. Beyond Limits it returns a *quota.Error
// that also matches ErrInvalid (errors.Is).
func (s *Service) Set(ctx context.Context, appID, uid int64, l *List) error {
	if l.Name == "" || len(l.Name) > 128 {
		return ErrInvalid
	}
	lim := s.Limits()
	if lim.MaxItems > 0 && len(l.Items) > lim.MaxItems {
		e := quota.Cap("privacy-list-items", lim.MaxItems, "too many items in privacy list "+strconv.Quote(l.Name))
		e.Err = ErrInvalid
		return e
	}
	if lim.MaxLists > 0 {
		names, _, err := s.store.PrivacyLists(ctx, appID, uid)
		if err != nil {
			return err
		}
		if !slices.Contains(names, l.Name) && len(names) >= lim.MaxLists {
			e := quota.Cap("privacy-lists-per-user", lim.MaxLists, "too many privacy lists: delete one first")
			e.Err = ErrInvalid
			return e
		}
	}
	for _, it := range l.Items {
		if it.Action != "allow" && it.Action != "deny" {
			return ErrInvalid
		}
		switch it.Type {
		case "", "jid", "group", "subscription":
		default:
			return ErrInvalid
		}
	}
	sort.SliceStable(l.Items, func(i, j int) bool { return l.Items[i].Order < l.Items[j].Order })
	if err := s.store.SetPrivacyList(ctx, appID, uid, l); err != nil {
		return err
	}
	s.forget(appID, uid)
	return nil
}

// Delete removes a list (and the default choice if it named it).
func (s *Service) Delete(ctx context.Context, appID, uid int64, name string) error {
	if err := s.store.DeletePrivacyList(ctx, appID, uid, name); err != nil {
		return err
	}
	s.forget(appID, uid)
	return nil
}

// SetDefault makes name the enforced list; "" declines any.
func (s *Service) SetDefault(ctx context.Context, appID, uid int64, name string) error {
	if name != "" {
		if _, err := s.store.PrivacyList(ctx, appID, uid, name); err != nil {
			return err
		}
	}
	if err := s.store.SetDefaultPrivacyList(ctx, appID, uid, name); err != nil {
		return err
	}
	s.forget(appID, uid)
	return nil
}

// Forget drops a cached list (another node changed it).
func (s *Service) Forget(appID, uid int64) { s.forget(appID, uid) }

func (s *Service) forget(appID, uid int64) {
	s.mu.Lock()
	delete(s.cache, [2]int64{appID, uid})
	s.mu.Unlock()
}

func (s *Service) defaultList(ctx context.Context, appID, uid int64) (*List, error) {
	k := [2]int64{appID, uid}
	s.mu.RLock()
	l, ok := s.cache[k]
	s.mu.RUnlock()
	if ok {
		return l, nil
	}
	_, def, err := s.store.PrivacyLists(ctx, appID, uid)
	if err != nil {
		return nil, err
	}
	if def != "" {
		if l, err = s.store.PrivacyList(ctx, appID, uid, def); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	s.mu.Lock()
	if len(s.cache) > 100_000 {
		clear(s.cache) // bound memory; entries reload on demand
	}
	s.cache[k] = l
	s.mu.Unlock()
	return l, nil
}

// BlocksInbound reports whether owner's default list refuses kind from t.
func (s *Service) BlocksInbound(ctx context.Context, appID, owner int64, t Target, kind Kind) bool {
	l, err := s.defaultList(ctx, appID, owner)
	if err != nil || l == nil {
		return false
	}
	for _, it := range l.Items {
		if !s.matches(appID, it, t) {
			continue
		}
		if len(it.Kinds) > 0 && !hasKind(it.Kinds, kind) {
			continue
		}
		return it.Action == "deny"
	}
	return false
}

// BlocksOutbound reports whether owner's default list stops owner reaching
// t: only a deny item with no children (the mutual block) does.
func (s *Service) BlocksOutbound(ctx context.Context, appID, owner int64, t Target) bool {
	l, err := s.defaultList(ctx, appID, owner)
	if err != nil || l == nil {
		return false
	}
	for _, it := range l.Items {
		if !s.matches(appID, it, t) {
			continue
		}
		if len(it.Kinds) > 0 {
			continue // one-way items leave the owner free to write
		}
		return it.Action == "deny"
	}
	return false
}

// Between reports whether a message from `from` to `to` is refused by
// either side's default list.
func (s *Service) Between(ctx context.Context, appID, from, to int64, fromJID, toJID string, inRoom bool) bool {
	return s.BlocksInbound(ctx, appID, to, Target{UserID: from, JID: fromJID, InRoom: inRoom}, Message) ||
		s.BlocksOutbound(ctx, appID, from, Target{UserID: to, JID: toJID, InRoom: inRoom})
}

// Blocks reports whether a message from user `from` to user `to` is refused
// by either one's default list: the question the dialog and history rules
// ask (dialogs.Blocking).
func (s *Service) Blocks(ctx context.Context, appID, from, to int64) bool {
	return s.Between(ctx, appID, from, to, "", "", false)
}

// Denies reports whether owner's default list refuses other: the consent
// question before other puts owner into a dialog (dialogs.Blocking).
func (s *Service) Denies(ctx context.Context, appID, owner, other int64) bool {
	return s.BlocksInbound(ctx, appID, owner, Target{UserID: other}, Message)
}

// Refuses reports whether kind from `from` to `to` is refused: by to's
// list for that kind, or by from's mutual block. Directed presence and IQs
// between users ask this.
func (s *Service) Refuses(ctx context.Context, appID, from, to int64, kind Kind) bool {
	return s.BlocksInbound(ctx, appID, to, Target{UserID: from}, kind) ||
		s.BlocksOutbound(ctx, appID, from, Target{UserID: to})
}

func hasKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// matches applies XEP-0016 JID matching, plus the SDK's MUC nick JID
// (<muc domain>/<user id>), which names a user in any group.
func (s *Service) matches(appID int64, it Item, t Target) bool {
	switch it.Type {
	case "":
		return true
	case "jid":
	default:
		return false // no rosters: groups and subscriptions never match
	}
	v := strings.ToLower(it.Value)
	if nick, ok := strings.CutPrefix(v, strings.ToLower(s.mucDomain)+"/"); ok {
		return t.InRoom && t.UserID != 0 && nick == strconv.FormatInt(t.UserID, 10)
	}
	if t.UserID != 0 {
		bare := strconv.FormatInt(t.UserID, 10) + "-" + strconv.FormatInt(appID, 10) + "@" + strings.ToLower(s.domain)
		if v == bare || strings.HasPrefix(v, bare+"/") {
			return true
		}
	}
	j := strings.ToLower(t.JID)
	if j == "" {
		return false
	}
	if v == j {
		return true
	}
	bare, _, _ := strings.Cut(j, "/")
	if v == bare {
		return true
	}
	_, domain, ok := strings.Cut(bare, "@")
	if !ok {
		domain = bare
	}
	return v == domain
}

// Blocked lists the JIDs the default list denies both ways (the XEP-0191
// view).
func (s *Service) Blocked(ctx context.Context, appID, uid int64) ([]string, error) {
	l, err := s.defaultList(ctx, appID, uid)
	if err != nil || l == nil {
		return nil, err
	}
	var out []string
	for _, it := range l.Items {
		if it.Type == "jid" && it.Action == "deny" && len(it.Kinds) == 0 {
			out = append(out, it.Value)
		}
	}
	return out, nil
}

// BlocklistName is the list blocking commands create when the user has no
// default list.
const BlocklistName = "blocklist"

// Block adds mutual deny items for jids to the default list (XEP-0191).
func (s *Service) Block(ctx context.Context, appID, uid int64, jids []string) error {
	l, err := s.defaultList(ctx, appID, uid)
	if err != nil {
		return err
	}
	if l == nil {
		l = &List{Name: BlocklistName}
	} else {
		l = &List{Name: l.Name, Items: append([]Item(nil), l.Items...)}
	}
	// Blocks go first so they win over earlier allows.
	var add []Item
	for _, j := range jids {
		if !containsJID(l.Items, j) {
			add = append(add, Item{Type: "jid", Value: j, Action: "deny"})
		}
	}
	items := append(add, l.Items...)
	for i := range items {
		items[i].Order = i + 1
	}
	l.Items = items
	if err := s.Set(ctx, appID, uid, l); err != nil {
		return err
	}
	return s.SetDefault(ctx, appID, uid, l.Name)
}

func containsJID(items []Item, j string) bool {
	for _, it := range items {
		if it.Type == "jid" && strings.EqualFold(it.Value, j) && it.Action == "deny" && len(it.Kinds) == 0 {
			return true
		}
	}
	return false
}

// Unblock removes mutual deny items for jids; none given removes them all.
func (s *Service) Unblock(ctx context.Context, appID, uid int64, jids []string) error {
	l, err := s.defaultList(ctx, appID, uid)
	if err != nil || l == nil {
		return err
	}
	var keep []Item
	for _, it := range l.Items {
		block := it.Type == "jid" && it.Action == "deny" && len(it.Kinds) == 0
		if block && (len(jids) == 0 || containsFold(jids, it.Value)) {
			continue
		}
		keep = append(keep, it)
	}
	return s.Set(ctx, appID, uid, &List{Name: l.Name, Items: keep})
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
