package xmpp

import (
	"errors"
	"sync"
	"time"

	"github.com/parley-chat/parley/accounts"
)

// A message to a user id that does not exist in the sender's app must not
// create a private dialog or an offline queue: anyone could grow storage
// without bound by inventing ids. Existence is checked before anything is
// stored; users known to exist are remembered for a while, so the check
// costs a store lookup only for the first message to an offline user.

const (
	knownUsersMax = 1 << 16
	knownUsersTTL = 5 * time.Minute
)

type knownUsers struct {
	mu sync.Mutex
	m  map[userKey]int64 // expiry, unix nanoseconds
}

// userExists reports whether k names a user of its app. Errors of the
// store count as existing: a refusal must not come from a hiccup.
func (s *Server) userExists(k userKey) bool {
	if s.cfg.Accounts == nil {
		return true
	}
	online := false
	s.reg.each(k, func(*conn) { online = true })
	if online {
		return true
	}
	now := time.Now().UnixNano()
	s.known.mu.Lock()
	exp, ok := s.known.m[k]
	s.known.mu.Unlock()
	if ok && exp > now {
		return true
	}
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.cfg.Accounts.User(ctx, k.app, k.user)
	if errors.Is(err, accounts.ErrNotFound) {
		return false
	}
	s.known.mu.Lock()
	if s.known.m == nil || len(s.known.m) >= knownUsersMax {
		s.known.m = make(map[userKey]int64) // bounded: start over
	}
	s.known.m[k] = now + int64(knownUsersTTL)
	s.known.mu.Unlock()
	return true
}

// forgetUser drops a deleted user from the cache.
func (s *Server) forgetUser(k userKey) {
	s.known.mu.Lock()
	delete(s.known.m, k)
	s.known.mu.Unlock()
}
