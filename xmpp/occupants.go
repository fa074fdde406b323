package xmpp

import (
	"strconv"
	"sync"
)

// roomKey names a room on this node.
type roomKey struct {
	app int64
	id  string
}

// occupant is one session's presence in a room: the nick it chose and the
// show/status it last sent, rendered once.
type occupant struct {
	nick  string
	extra []byte
}

// named reports whether the session chose a nick other than its user id.
// Such a session sees every occupant by nick; the others (the ConnectyCube
// SDK, which parses the sender's id from the nick) see user ids.
func (o occupant) named(uid int64) bool { return o.nick != strconv.FormatInt(uid, 10) }

type joined struct {
	c *conn
	occupant
}

// roomState is who is in one room on this node and under which nicks.
type roomState struct {
	sessions map[*conn]occupant
	nicks    map[string]nickUse
}

// nickUse is whose a nick is and how many of that user's sessions use it.
type nickUse struct {
	user int64
	n    int
}

// rooms tracks who joined which room on this node. Joining is optional in
// the ConnectyCube model (messages reach every occupant anyway); it drives
// occupant presence and nicknames.
type rooms struct {
	mu     sync.Mutex
	joined map[roomKey]*roomState
}

// nickFree reports whether user may take nick in the room: a number is only
// its owner's (it reads as a user id), any other nick is the first user's
// to hold it.
func (r *rooms) nickFree(k roomKey, user int64, nick string) bool {
	if id, err := strconv.ParseInt(nick, 10, 64); err == nil {
		return id == user
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.joined[k]
	if st == nil {
		return true
	}
	u, ok := st.nicks[nick]
	return !ok || u.user == user
}

// join enters c into the room as o (or changes its nick or status), and
// lists the other sessions there. prev is c's former presence, if any.
func (r *rooms) join(k roomKey, c *conn, o occupant) (others []joined, prev occupant, was bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.joined == nil {
		r.joined = map[roomKey]*roomState{}
	}
	st := r.joined[k]
	if st == nil {
		st = &roomState{sessions: map[*conn]occupant{}, nicks: map[string]nickUse{}}
		r.joined[k] = st
	}
	prev, was = st.sessions[c]
	if was {
		st.release(prev.nick)
	}
	st.sessions[c] = o
	u := st.nicks[o.nick]
	st.nicks[o.nick] = nickUse{c.userID, u.n + 1}
	for oc, oo := range st.sessions {
		if oc != c {
			others = append(others, joined{oc, oo})
		}
	}
	return others, prev, was
}

func (st *roomState) release(nick string) {
	if u := st.nicks[nick]; u.n > 1 {
		st.nicks[nick] = nickUse{u.user, u.n - 1}
	} else {
		delete(st.nicks, nick)
	}
}

// leave takes c out of the room and lists who is still there.
func (r *rooms) leave(k roomKey, c *conn) (others []joined, was occupant, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.joined[k]
	if st == nil {
		return nil, occupant{}, false
	}
	if was, ok = st.sessions[c]; !ok {
		return nil, occupant{}, false
	}
	delete(st.sessions, c)
	st.release(was.nick)
	for oc, oo := range st.sessions {
		others = append(others, joined{oc, oo})
	}
	if len(st.sessions) == 0 {
		delete(r.joined, k)
	}
	return others, was, true
}

// occupantOf is c's presence in the room, if it joined.
func (r *rooms) occupantOf(k roomKey, c *conn) (occupant, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.joined[k]; st != nil {
		o, ok := st.sessions[c]
		return o, ok
	}
	return occupant{}, false
}

// userOfNick is the user holding nick in the room.
func (r *rooms) userOfNick(k roomKey, nick string) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.joined[k]; st != nil {
		u, ok := st.nicks[nick]
		return u.user, ok
	}
	return 0, false
}

// nicksOf maps each user in the room to a nick one of its sessions uses.
func (r *rooms) nicksOf(k roomKey) map[int64]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int64]string{}
	if st := r.joined[k]; st != nil {
		for n, u := range st.nicks {
			out[u.user] = n
		}
	}
	return out
}

// namedSessions lists the sessions in the room that see occupants by nick.
func (r *rooms) namedSessions(k roomKey) map[*conn]struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out map[*conn]struct{}
	if st := r.joined[k]; st != nil {
		for c, o := range st.sessions {
			if o.named(c.userID) {
				if out == nil {
					out = map[*conn]struct{}{}
				}
				out[c] = struct{}{}
			}
		}
	}
	return out
}

// move hands old's joined rooms to c (a resumed stream).
func (r *rooms) move(old, c *conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.joined {
		if o, ok := st.sessions[old]; ok {
			delete(st.sessions, old)
			st.sessions[c] = o
		}
	}
}

// roomsOf lists the rooms c joined (for leaving them on disconnect).
func (r *rooms) roomsOf(c *conn) []roomKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []roomKey
	for k, st := range r.joined {
		if _, ok := st.sessions[c]; ok {
			out = append(out, k)
		}
	}
	return out
}

// drain empties the room (it was destroyed) and lists who was in it.
func (r *rooms) drain(k roomKey) []joined {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.joined[k]
	delete(r.joined, k)
	if st == nil {
		return nil
	}
	out := make([]joined, 0, len(st.sessions))
	for c, o := range st.sessions {
		out = append(out, joined{c, o})
	}
	return out
}

// withNick lists the sessions in the room under nick.
func (r *rooms) withNick(k roomKey, nick string) []joined {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []joined
	if st := r.joined[k]; st != nil {
		for c, o := range st.sessions {
			if o.nick == nick {
				out = append(out, joined{c, o})
			}
		}
	}
	return out
}

// in lists every session in the room.
func (r *rooms) in(k roomKey) []joined {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []joined
	if st := r.joined[k]; st != nil {
		for c, o := range st.sessions {
			out = append(out, joined{c, o})
		}
	}
	return out
}
