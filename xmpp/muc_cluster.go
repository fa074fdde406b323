package xmpp

import (
	"github.com/parley-chat/parley/cluster"
	"github.com/parley-chat/parley/dialogs"
)

// Rooms across nodes: each node keeps its own sessions' occupancy (rooms)
// and records it in the cluster, so a join sees the occupants on every
// node, and every presence change in a room is told to the nodes with
// sessions in it, which render it for theirs.

// sessionsOf copies a user's sessions here, so that work on them (which may
// reach Redis) runs outside the registry's lock.
func (s *Server) sessionsOf(k userKey) []*conn {
	var out []*conn
	s.reg.each(k, func(c *conn) { out = append(out, c) })
	return out
}

// roomRemote lists the room's sessions on other nodes.
func (s *Server) roomRemote(k roomKey) []cluster.Occupant {
	if s.cluster == nil {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	occ, err := s.cluster.RoomOccupants(ctx, k.app, k.id)
	if err != nil {
		s.log.Error("cluster: room occupants unreadable", "room", k.id, "err", err)
	}
	return occ
}

// nickTaken reports a nick another user holds in the room on another node.
func nickTaken(remote []cluster.Occupant, uid int64, nick string) bool {
	for _, o := range remote {
		if o.Nick == nick && o.User != uid {
			return true
		}
	}
	return false
}

// roomEnter and roomLeave record c's occupancy in the cluster.
func (s *Server) roomEnter(k roomKey, c *conn, o occupant) {
	if s.cluster == nil {
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.cluster.EnterRoom(ctx, k.app, k.id, cluster.Occupant{User: c.userID, JID: c.jid, Nick: o.nick, Extra: o.extra}); err != nil {
		s.log.Error("cluster: room occupancy not recorded", "room", k.id, "err", err)
	}
}

func (s *Server) roomLeave(k roomKey, c *conn) {
	if s.cluster == nil {
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.cluster.LeaveRoom(ctx, k.app, k.id, c.jid); err != nil {
		s.log.Error("cluster: room occupancy not removed", "room", k.id, "err", err)
	}
}

// tell shows p, an occupant's presence, to the other sessions in the room:
// those here, rendered for each, and those on other nodes, which render it.
func (s *Server) tell(k roomKey, others []joined, p *roomPresence) {
	for _, o := range others {
		s.show(o, p)
	}
	s.toRoomNodes(k, cluster.Occupancy{Room: p.room, Occupant: cluster.Occupant{User: p.uid, JID: p.jid, Nick: p.nick, Extra: p.extra},
		Type: p.typ, NewNick: p.newNick, Codes: p.codes})
}

// show renders p for one viewer; a nick change means nothing to a viewer
// who sees occupants by id.
func (s *Server) show(o joined, p *roomPresence) {
	named := o.named(o.c.userID)
	if p.newNick != "" && !named {
		return
	}
	o.c.send(s.occupantPresence(p, o.c, named), kindPresence)
}

// toRoomNodes sends an occupancy change to the other nodes with sessions in
// the room.
func (s *Server) toRoomNodes(k roomKey, ev cluster.Occupancy) {
	if s.cluster == nil {
		return
	}
	ev.App, ev.Dialog = k.app, k.id
	sent := map[string]bool{}
	for _, o := range s.roomRemote(k) {
		if !sent[o.Node] {
			sent[o.Node] = true
			s.cluster.Send(o.Node, cluster.Delivery{Occupancy: &ev})
		}
	}
}

// receiveOccupancy acts on another node's change in a room this node has
// sessions in.
func (s *Server) receiveOccupancy(ev *cluster.Occupancy) {
	k := roomKey{ev.App, ev.Dialog}
	d := &dialogs.Dialog{AppID: ev.App, ID: ev.Dialog}
	if ev.Type != "destroyed" && s.cfg.Dialogs != nil {
		ctx, cancel := s.ctx()
		full, err := s.cfg.Dialogs.Dialog(ctx, ev.App, ev.Dialog)
		cancel()
		if err != nil {
			return
		}
		d = full
	}
	switch ev.Type {
	case "", "unavailable":
		p := &roomPresence{room: ev.Room, d: d, uid: ev.User, nick: ev.Nick, jid: ev.JID, extra: ev.Extra, typ: ev.Type, newNick: ev.NewNick, codes: ev.Codes}
		for _, o := range s.rooms.in(k) {
			s.show(o, p)
		}
	case "ousted":
		if len(ev.Codes) == 1 {
			s.removeOccupant(d, ev.Room, ev.User, ev.Codes[0])
		}
	case "changed":
		s.occupantChanged(d, ev.Room, ev.User)
	case "subject":
		s.showSubject(k, d, ev.Room)
	case "destroyed":
		s.roomDestroyed(k, d, ev.Room, ev.Reason)
	}
}
