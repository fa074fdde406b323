package xmpp

import (
	"context"
	"time"

	"github.com/parley-chat/parley/cluster"
	"github.com/parley-chat/parley/xmpp/wire"
)

// Cluster reaches sessions on other nodes (package cluster over Redis).
// Without one, a node routes in process only.
type Cluster interface {
	Bind(ctx context.Context, app, user int64, resource string) error
	Unbind(ctx context.Context, app, user int64, resource string) error
	SetPresence(ctx context.Context, app, user int64, resource string, available bool, priority int) error
	Sessions(ctx context.Context, app int64, users []int64) (map[int64][]cluster.Session, error)
	Send(node string, d cluster.Delivery) bool
	Watch(ctx context.Context, app, user int64) error
	Watchers(ctx context.Context, app, user int64) ([]string, error)
	Unwatch(ctx context.Context, app, user int64) error
	Broadcast(ctx context.Context, d cluster.Delivery) error

	// Stream-management state mirrored for resumption on another node.
	SMSave(ctx context.Context, id string, st cluster.SMState, ttl time.Duration) error
	SMPush(ctx context.Context, id string, b []byte, out uint32, ttl time.Duration) error
	SMAck(ctx context.Context, id string, n int) error
	SMIn(ctx context.Context, id string, in uint32) error
	SMOwner(ctx context.Context, id string) (node string, app, user int64, err error)
	SMTake(ctx context.Context, id string) (*cluster.SMState, error)
	SMDrop(ctx context.Context, id string) error
	SMReleased(ctx context.Context, id string) error
	SMWaitRelease(ctx context.Context, owner, id string, wait time.Duration) bool
	IsAlive(ctx context.Context, node string) bool
	Node() string

	// Room occupancy across nodes.
	EnterRoom(ctx context.Context, app int64, dialog string, o cluster.Occupant) error
	LeaveRoom(ctx context.Context, app int64, dialog, jid string) error
	DropRoom(ctx context.Context, app int64, dialog string) error
	RoomOccupants(ctx context.Context, app int64, dialog string) ([]cluster.Occupant, error)
	OnlineUsers(ctx context.Context, app int64, max int) ([]int64, error)
}

// SetCluster attaches the node to a cluster (before serving).
func (s *Server) SetCluster(c Cluster) { s.cluster = c }

// Lost keeps messages that were published to a node that turned out to be
// gone: they go to the recipients' offline queues.
func (s *Server) Lost(d cluster.Delivery) {
	if stanzaKind(d.Kind) != kindMessage || d.Typing {
		return
	}
	for _, t := range d.Targets {
		s.storeUnacked(userKey{t.App, t.User}, [][]byte{d.Data})
	}
}

// Receive hands a delivery from another node to the local sessions.
func (s *Server) Receive(d cluster.Delivery) {
	switch {
	case d.Release != "":
		s.releaseSM(d.Release)
		return
	case d.Status != 0:
		for _, t := range d.Targets {
			s.announceLocal(userKey{t.App, t.User}, d.Status == 1)
		}
		return
	case d.Kick:
		for _, t := range d.Targets {
			s.kickLocal(userKey{t.App, t.User})
		}
		return
	case d.Revoke:
		for _, t := range d.Targets {
			s.revokeLocal(userKey{t.App, t.User}, d.Only, d.Keep)
		}
		return
	case d.Occupancy != nil:
		s.receiveOccupancy(d.Occupancy)
		return
	case d.Probe != "":
		for _, t := range d.Targets {
			s.shareLocal(userKey{t.App, t.User}, t.Resource, d.Probe)
		}
		return
	case d.Forget:
		for _, t := range d.Targets {
			if s.cfg.Privacy != nil {
				s.cfg.Privacy.Forget(t.App, t.User)
			}
		}
		return
	}
	k := stanzaKind(d.Kind)
	if k >= kindCount {
		return
	}
	var named map[*conn]struct{}
	if d.Named != nil {
		named = s.rooms.namedSessions(roomKey{d.NamedApp, d.NamedDialog})
	}
	for _, t := range d.Targets {
		s.reg.each(userKey{t.App, t.User}, func(o *conn) {
			if (t.Resource == "" || o.resource == t.Resource) && !(d.Typing && o.inactive.Load()) {
				if _, ok := named[o]; ok {
					o.send(d.Named, k)
				} else {
					o.send(d.Data, k)
				}
			}
		})
	}
}

func (s *Server) clusterBind(c *conn) {
	if s.cluster == nil {
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.cluster.Bind(ctx, c.appID, c.userID, c.resource); err != nil {
		s.log.Error("cluster: presence not recorded", "jid", c.jid, "err", err)
	}
}

func (s *Server) clusterUnbind(c *conn) {
	if s.cluster == nil {
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.cluster.Unbind(ctx, c.appID, c.userID, c.resource); err != nil {
		s.log.Error("cluster: presence not removed", "jid", c.jid, "err", err)
	}
}

// remote returns users' sessions on other nodes.
func (s *Server) remote(app int64, users []int64) map[int64][]cluster.Session {
	if s.cluster == nil || len(users) == 0 {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	m, err := s.cluster.Sessions(ctx, app, users)
	if err != nil {
		s.log.Error("cluster: presence lookup failed", "err", err)
		return nil
	}
	return m
}

// sendRemote delivers b to the users' sessions on other nodes (all of a
// user's sessions, or the one named by resource), one delivery per node.
// It returns how many sessions it was sent to.
func (s *Server) sendRemote(app int64, users []int64, resource string, b []byte, k stanzaKind, typing bool) int {
	return s.sendRemoteAs(app, users, resource, cluster.Delivery{Kind: uint8(k), Typing: typing, Data: b})
}

// sendRemoteAs is sendRemote of a delivery d, to which it adds the targets.
func (s *Server) sendRemoteAs(app int64, users []int64, resource string, d cluster.Delivery) int {
	byNode := map[string][]cluster.Target{}
	n := 0
	for uid, sessions := range s.remote(app, users) {
		for _, r := range sessions {
			if resource != "" && r.Resource != resource {
				continue
			}
			byNode[r.Node] = append(byNode[r.Node], cluster.Target{App: app, User: uid, Resource: r.Resource})
			n++
		}
	}
	for node, targets := range byNode {
		d.Targets = targets
		if !s.cluster.Send(node, d) {
			n -= len(targets)
		}
	}
	return n
}

// PrivacyChanged implements Core: every other node drops its cached copy
// of u's lists (the privacy service drops this node's itself).
func (s *Server) PrivacyChanged(u User) {
	if s.cluster == nil {
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	s.cluster.Broadcast(ctx, cluster.Delivery{Targets: []cluster.Target{{App: u.App, User: u.ID}}, Forget: true})
}

// remoteOnline reports a user with a session on another live node.
func (s *Server) remoteOnline(k userKey) bool {
	return len(s.remote(k.app, []int64{k.user})[k.user]) > 0
}

// SharePresence implements Core: this node's sessions answer at once, the
// nodes holding of's other available sessions are asked to.
func (s *Server) SharePresence(of User, to string) {
	k := userKey{of.App, of.ID}
	s.shareLocal(k, "", to)
	if s.cluster == nil {
		return
	}
	byNode := map[string][]cluster.Target{}
	for _, r := range s.remote(of.App, []int64{of.ID})[of.ID] {
		if r.Available {
			byNode[r.Node] = append(byNode[r.Node], cluster.Target{App: of.App, User: of.ID, Resource: r.Resource})
		}
	}
	for node, targets := range byNode {
		s.cluster.Send(node, cluster.Delivery{Targets: targets, Probe: to})
	}
}

// shareLocal sends the presence of k's sessions here (the one named by
// resource, or all) to the user JID to.
func (s *Server) shareLocal(k userKey, resource, to string) {
	a := s.resolve(to)
	if a.kind != addrUser {
		return
	}
	var out [][]byte
	s.reg.each(k, func(c *conn) {
		c.mu.Lock()
		if c.presence != nil && (resource == "" || c.resource == resource) {
			out = append(out, c.presence)
		}
		c.mu.Unlock()
	})
	for _, p := range out {
		s.deliver(a.user, a.resource, wire.WithTo(p, to), kindPresence)
	}
}
