package cluster

import (
	"context"
	"encoding/json"
	"strconv"
)

// Room occupancy across nodes: which sessions are in which room under
// which nick, so a join on one node sees, and is seen by, the occupants on
// the others. One hash per room, a field per session (its full JID).

// Occupant is a session in a room.
type Occupant struct {
	Node  string `json:"n"`
	User  int64  `json:"u"`
	JID   string `json:"j"` // full JID
	Nick  string `json:"k"`
	Extra []byte `json:"x,omitempty"` // its rendered <show/> and <status/>
}

// Occupancy is an occupant's presence change in a room, for the receiving
// node's sessions in that room to see.
type Occupancy struct {
	App      int64  `json:"a"`
	Dialog   string `json:"d"`
	Occupant `json:"o"`
	Room     string   `json:"r"`           // the room's address
	Type     string   `json:"t,omitempty"` // "" (available), "unavailable", or what the node does: "ousted", "changed", "subject", "destroyed"
	NewNick  string   `json:"nn,omitempty"`
	Codes    []string `json:"c,omitempty"`
	Reason   string   `json:"why,omitempty"` // of a destruction
}

func roomKey(app int64, dialog string) string {
	return prefix + "room:" + strconv.FormatInt(app, 10) + ":" + dialog
}

// EnterRoom records a session of this node in a room (or its new nick or
// status).
func (r *Redis) EnterRoom(ctx context.Context, app int64, dialog string, o Occupant) error {
	o.Node = r.node
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return r.rdb.HSet(ctx, roomKey(app, dialog), o.JID, b).Err()
}

// LeaveRoom removes a session from a room.
func (r *Redis) LeaveRoom(ctx context.Context, app int64, dialog, jid string) error {
	return r.rdb.HDel(ctx, roomKey(app, dialog), jid).Err()
}

// DropRoom forgets a room's occupants (it was destroyed).
func (r *Redis) DropRoom(ctx context.Context, app int64, dialog string) error {
	return r.rdb.Del(ctx, roomKey(app, dialog)).Err()
}

// RoomOccupants lists a room's sessions on other live nodes; a dead node's
// are removed on the way.
func (r *Redis) RoomOccupants(ctx context.Context, app int64, dialog string) ([]Occupant, error) {
	m, err := r.rdb.HGetAll(ctx, roomKey(app, dialog)).Result()
	if err != nil {
		return nil, err
	}
	var out []Occupant
	for jid, v := range m {
		var o Occupant
		if json.Unmarshal([]byte(v), &o) != nil {
			r.rdb.HDel(ctx, roomKey(app, dialog), jid)
			continue
		}
		if o.Node == r.node {
			continue
		}
		if !r.isAlive(ctx, o.Node) {
			r.rdb.HDel(ctx, roomKey(app, dialog), jid)
			continue
		}
		out = append(out, o)
	}
	return out, nil
}
