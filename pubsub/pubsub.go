// Package pubsub keeps each user's personal publish-subscribe nodes (PEP,
// XEP-0163, on the XEP-0060 model): nodes created on first publish, their
// configuration (access model, item count), and their items, newest first.
// Avatars (XEP-0084), bookmarks (XEP-0402), OMEMO device lists and bundles
// (XEP-0384), nick, mood and tune live here.
package pubsub

import (
	"context"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// Owner names a user of an app.
type Owner struct{ AppID, UserID int64 }

// Access models (pubsub#access_model).
const (
	Open      = "open"      // anyone of the app
	Presence  = "presence"  // contacts subscribed to the owner's presence (the default)
	Whitelist = "whitelist" // the owner only
)

// Node is one node's configuration.
type Node struct {
	Owner    Owner
	Name     string
	Access   string
	MaxItems int
	Created  time.Time
}

// Item is one published item: its id and its payload, one XML element.
type Item struct {
	ID        string
	Payload   string
	Published time.Time
}

// Errors.
var (
	ErrNotFound = errors.New("pubsub: not found")
)

// Refusal is a request the rules refuse, with what to do instead.
type Refusal struct {
	Condition string // the XEP-0060 condition: "not-acceptable", "policy-violation", "bad-request"
	Msg       string
}

func (r *Refusal) Error() string { return "pubsub: " + r.Msg }

// Store keeps nodes and items.
type Store interface {
	PubsubNode(ctx context.Context, o Owner, node string) (*Node, error)
	// PutPubsubNode creates or reconfigures a node.
	PutPubsubNode(ctx context.Context, n *Node) error
	// DeletePubsubNode removes a node and its items.
	DeletePubsubNode(ctx context.Context, o Owner, node string) error
	PubsubNodes(ctx context.Context, o Owner) ([]Node, error)
	// PutPubsubItem stores an item (replacing one of the same id) and keeps
	// the newest max items.
	PutPubsubItem(ctx context.Context, o Owner, node string, it Item, max int) error
	// PubsubItems lists items newest first: those of ids, or the newest max.
	PubsubItems(ctx context.Context, o Owner, node string, ids []string, max int) ([]Item, error)
	DeletePubsubItem(ctx context.Context, o Owner, node, id string) error
	// DeletePubsubOwner removes every node of the owner.
	DeletePubsubOwner(ctx context.Context, o Owner) error
}

// Limits bound what one user publishes.
type Limits struct {
	MaxNodes     int // per user
	MaxItems     int // per node, the largest pubsub#max_items
	MaxItemBytes int // of one item's payload
}

// DefaultLimits are the limits of a new installation.
func DefaultLimits() Limits { return Limits{MaxNodes: 100, MaxItems: 1000, MaxItemBytes: 256 << 10} }

// Options are the publish-options or configuration a client asks for;
// zero values keep the node's (or the defaults).
type Options struct {
	Access   string
	MaxItems int // -1: the most allowed ("max")
}

// Service applies the rules.
type Service struct {
	store  Store
	limits Limits
	now    func() time.Time
}

// NewService returns a Service with the default limits.
func NewService(s Store) *Service { return &Service{store: s, limits: DefaultLimits(), now: time.Now} }

// SetLimits replaces the limits (before serving).
func (s *Service) SetLimits(l Limits) { s.limits = l }

// ValidNode reports a usable node name.
func ValidNode(name string) bool {
	return name != "" && len(name) <= 256 && utf8.ValidString(name)
}

func (s *Service) configure(n *Node, o Options) error {
	switch o.Access {
	case "":
	case Open, Presence, Whitelist:
		n.Access = o.Access
	default:
		return &Refusal{"not-acceptable", "access model " + o.Access + " is not served; use open, presence or whitelist"}
	}
	switch {
	case o.MaxItems < 0:
		n.MaxItems = s.limits.MaxItems
	case o.MaxItems > s.limits.MaxItems:
		return &Refusal{"not-acceptable", "a node keeps at most " + strconv.Itoa(s.limits.MaxItems) + " items"}
	case o.MaxItems > 0:
		n.MaxItems = o.MaxItems
	}
	return nil
}

// Publish stores an item on the owner's node, creating the node (with o)
// on first use; the options of a later publish must match the node's
// (XEP-0060 7.1.5: publish-options are preconditions).
func (s *Service) Publish(ctx context.Context, owner Owner, node string, it Item, o Options, precondition bool) (*Node, Item, error) {
	if !ValidNode(node) {
		return nil, it, &Refusal{"bad-request", "a node name is 1 to 256 characters"}
	}
	if len(it.Payload) > s.limits.MaxItemBytes {
		return nil, it, &Refusal{"not-acceptable", "an item is at most " + strconv.Itoa(s.limits.MaxItemBytes) + " bytes"}
	}
	if it.ID == "" {
		it.ID = strconv.FormatInt(s.now().UnixNano(), 36)
	}
	if len(it.ID) > 256 {
		return nil, it, &Refusal{"bad-request", "an item id is at most 256 characters"}
	}
	n, err := s.store.PubsubNode(ctx, owner, node)
	switch {
	case errors.Is(err, ErrNotFound):
		nodes, err := s.store.PubsubNodes(ctx, owner)
		if err != nil {
			return nil, it, err
		}
		if len(nodes) >= s.limits.MaxNodes {
			return nil, it, &Refusal{"policy-violation", "a user has at most " + strconv.Itoa(s.limits.MaxNodes) + " nodes"}
		}
		n = &Node{Owner: owner, Name: node, Access: Presence, MaxItems: 1, Created: s.now().UTC()}
		if err := s.configure(n, o); err != nil {
			return nil, it, err
		}
		if err := s.store.PutPubsubNode(ctx, n); err != nil {
			return nil, it, err
		}
	case err != nil:
		return nil, it, err
	case precondition:
		want := *n
		if err := s.configure(&want, o); err != nil {
			return nil, it, err
		}
		if want.Access != n.Access || want.MaxItems != n.MaxItems {
			return nil, it, &Refusal{"conflict", "the node's configuration differs from the publish-options (precondition not met)"}
		}
	}
	it.Published = s.now().UTC()
	if err := s.store.PutPubsubItem(ctx, owner, node, it, n.MaxItems); err != nil {
		return nil, it, err
	}
	return n, it, nil
}

// Configure changes a node's configuration (its owner only).
func (s *Service) Configure(ctx context.Context, owner Owner, node string, o Options) (*Node, error) {
	n, err := s.store.PubsubNode(ctx, owner, node)
	if err != nil {
		return nil, err
	}
	if err := s.configure(n, o); err != nil {
		return nil, err
	}
	return n, s.store.PutPubsubNode(ctx, n)
}

// Node returns a node's configuration.
func (s *Service) Node(ctx context.Context, owner Owner, node string) (*Node, error) {
	return s.store.PubsubNode(ctx, owner, node)
}

// Nodes lists an owner's nodes.
func (s *Service) Nodes(ctx context.Context, owner Owner) ([]Node, error) {
	return s.store.PubsubNodes(ctx, owner)
}

// Items returns a node's items, newest first (the caller checked access).
func (s *Service) Items(ctx context.Context, owner Owner, node string, ids []string, max int) ([]Item, error) {
	if max <= 0 || max > s.limits.MaxItems {
		max = s.limits.MaxItems
	}
	if len(ids) > s.limits.MaxItems {
		return nil, &Refusal{"bad-request", "ask for at most " + strconv.Itoa(s.limits.MaxItems) + " items"}
	}
	return s.store.PubsubItems(ctx, owner, node, ids, max)
}

// Retract deletes an item.
func (s *Service) Retract(ctx context.Context, owner Owner, node, id string) error {
	return s.store.DeletePubsubItem(ctx, owner, node, id)
}

// Delete removes a node and its items.
func (s *Service) Delete(ctx context.Context, owner Owner, node string) error {
	return s.store.DeletePubsubNode(ctx, owner, node)
}

// ForgetUser implements accounts.UserData: a deleted user's nodes go.
func (s *Service) ForgetUser(ctx context.Context, app, user int64) error {
	return s.store.DeletePubsubOwner(ctx, Owner{app, user})
}
