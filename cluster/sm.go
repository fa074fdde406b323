package cluster

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stream-management state mirrored to Redis, so a session can be resumed
// on another node, even after its node died: the hash holds the owner and
// the counters, the list the stanzas the client has not acknowledged.

func smKey(id string) string  { return prefix + "sm:" + id }
func smqKey(id string) string { return prefix + "smq:" + id }
func smRel(id string) string  { return prefix + "smrel:" + id }

// SMState is a session's mirrored stream-management state.
type SMState struct {
	Node          string
	App, User     int64
	Resource, JID string
	In, Out       uint32
	Queue         [][]byte
}

// SMSave records a resumable session owned by this node, with its queue.
func (r *Redis) SMSave(ctx context.Context, id string, st SMState, ttl time.Duration) error {
	p := r.rdb.TxPipeline()
	p.Del(ctx, smqKey(id))
	p.HSet(ctx, smKey(id), "node", r.node, "app", st.App, "user", st.User, "resource", st.Resource, "jid", st.JID, "in", st.In, "out", st.Out)
	if len(st.Queue) > 0 {
		args := make([]any, len(st.Queue))
		for i, b := range st.Queue {
			args[i] = b
		}
		p.RPush(ctx, smqKey(id), args...)
	}
	p.Expire(ctx, smKey(id), ttl)
	p.Expire(ctx, smqKey(id), ttl)
	_, err := p.Exec(ctx)
	return err
}

// SMPush appends a stanza sent to the session.
func (r *Redis) SMPush(ctx context.Context, id string, b []byte, out uint32, ttl time.Duration) error {
	p := r.rdb.Pipeline()
	p.RPush(ctx, smqKey(id), b)
	p.HSet(ctx, smKey(id), "out", out)
	p.Expire(ctx, smqKey(id), ttl)
	p.Expire(ctx, smKey(id), ttl)
	_, err := p.Exec(ctx)
	return err
}

// SMAck drops the n oldest stanzas the client acknowledged.
func (r *Redis) SMAck(ctx context.Context, id string, n int) error {
	return r.rdb.LTrim(ctx, smqKey(id), int64(n), -1).Err()
}

// SMIn records the count of stanzas handled from the client.
func (r *Redis) SMIn(ctx context.Context, id string, in uint32) error {
	return r.rdb.HSet(ctx, smKey(id), "in", in).Err()
}

// SMOwner returns the node that holds a session's state and the user it
// belongs to ("" if there is none).
func (r *Redis) SMOwner(ctx context.Context, id string) (node string, app, user int64, err error) {
	v, err := r.rdb.HMGet(ctx, smKey(id), "node", "app", "user").Result()
	if err != nil || len(v) != 3 || v[0] == nil {
		return "", 0, 0, err
	}
	num := func(x any) int64 { s, _ := x.(string); n, _ := strconv.ParseInt(s, 10, 64); return n }
	node, _ = v[0].(string)
	return node, num(v[1]), num(v[2]), nil
}

// SMTake reads and removes a session's state in one transaction.
func (r *Redis) SMTake(ctx context.Context, id string) (*SMState, error) {
	var h *redis.MapStringStringCmd
	var q *redis.StringSliceCmd
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		h = p.HGetAll(ctx, smKey(id))
		q = p.LRange(ctx, smqKey(id), 0, -1)
		p.Del(ctx, smKey(id), smqKey(id), smRel(id))
		return nil
	})
	if err != nil {
		return nil, err
	}
	m := h.Val()
	if len(m) == 0 {
		return nil, nil
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	st := &SMState{Node: m["node"], App: num("app"), User: num("user"), Resource: m["resource"], JID: m["jid"], In: uint32(num("in")), Out: uint32(num("out"))}
	for _, s := range q.Val() {
		st.Queue = append(st.Queue, []byte(s))
	}
	return st, nil
}

// SMDrop forgets a session's state.
func (r *Redis) SMDrop(ctx context.Context, id string) error {
	return r.rdb.Del(ctx, smKey(id), smqKey(id)).Err()
}

// SMReleased marks that this node let go of a session (answer to a
// release request).
func (r *Redis) SMReleased(ctx context.Context, id string) error {
	return r.rdb.Set(ctx, smRel(id), r.node, 30*time.Second).Err()
}

// SMWaitRelease asks owner to let go of a session and waits for it, up to
// wait; it reports false when the owner did not answer (it may be dead).
func (r *Redis) SMWaitRelease(ctx context.Context, owner, id string, wait time.Duration) bool {
	r.Send(owner, Delivery{Release: id})
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if n, _ := r.rdb.Exists(ctx, smRel(id)).Result(); n == 1 {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// IsAlive reports whether a node's heartbeat is current.
func (r *Redis) IsAlive(ctx context.Context, node string) bool { return r.isAlive(ctx, node) }
