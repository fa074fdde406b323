package xmpp

import (
	"context"
	"slices"
)

// maxOnlineListed bounds the online users one request collects.
const maxOnlineListed = 10_000

// OnlineUsers lists the users of app with a live session, on this node and
// (with a cluster) on the others, in id order, up to maxOnlineListed: the
// REST online list and count read it.
func (s *Server) OnlineUsers(app int64) []int64 {
	seen := map[int64]struct{}{}
	s.reg.eachApp(app, func(c *conn) { seen[c.userID] = struct{}{} })
	if s.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5e9)
		ids, err := s.cluster.OnlineUsers(ctx, app, maxOnlineListed)
		cancel()
		if err != nil {
			s.log.Error("cluster: online users unreadable", "err", err)
		}
		for _, id := range ids {
			seen[id] = struct{}{}
		}
	}
	out := make([]int64, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	if len(out) > maxOnlineListed {
		out = out[:maxOnlineListed]
	}
	return out
}
