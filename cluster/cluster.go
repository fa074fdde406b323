// Package cluster lets Parley nodes share presence and route stanzas to
// each other through Redis.
//
// Presence: a hash per user, resource -> node, written at bind and removed
// at unbind. Each node refreshes a heartbeat key with a TTL; a node that
// dies (kill -9) stops refreshing it, and its users' entries are ignored
// (and cleaned) once the key expires, so they read as offline by themselves.
//
// Routing: every node subscribes to a channel of its own; a stanza for a
// session on another node is published there. Deliveries to one node are
// batched: a flusher sends everything queued for that node in one message.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Target is a user (and optionally one resource) on the receiving node.
type Target struct {
	App      int64  `json:"a"`
	User     int64  `json:"u"`
	Resource string `json:"r,omitempty"`
}

// Delivery is a stanza for sessions on one node.
type Delivery struct {
	Targets []Target `json:"t"`
	Kind    uint8    `json:"k"`
	Typing  bool     `json:"y,omitempty"` // chat state: skip inactive sessions
	Data    []byte   `json:"d,omitempty"`
	// Control deliveries carry no stanza: Status tells a node to push a
	// target's status to its watchers (1 online, 2 offline); Forget tells
	// it to drop the targets' cached privacy lists.
	Status uint8 `json:"s,omitempty"`
	Forget bool  `json:"f,omitempty"`
	// Release asks the node to let go of a stream-managed session that a
	// client is resuming elsewhere.
	Release string `json:"rel,omitempty"`
	// Kick ends every session of the targets on the receiving node.
	Kick bool `json:"kick,omitempty"`
	// Revoke ends the targets' streams signed in with session token Only
	// (when non-zero), or all but those of Keep.
	Revoke     bool  `json:"rv,omitempty"`
	Only, Keep int64 `json:",omitempty"`
	// Probe asks the node to send the targets' current available presence
	// to this JID (a presence probe answered where the sessions are).
	Probe string `json:"pr,omitempty"`
	// Occupancy is a room presence change for the node's sessions in it.
	Occupancy *Occupancy `json:"oc,omitempty"`
	// Named is Data (a room message) as the sessions in room NamedApp and
	// NamedDialog that chose nicks see it: from the sender's nick.
	Named       []byte `json:"nd,omitempty"`
	NamedApp    int64  `json:"na,omitempty"`
	NamedDialog string `json:"ndl,omitempty"`
}

// Session is a bound session somewhere in the cluster.
type Session struct {
	Node      string
	Resource  string
	Available bool // sent available presence
	Priority  int
}

// Config configures a Redis-backed node.
type Config struct {
	Addr      string
	Password  string
	TLS       bool
	Sentinels []string // with MasterName: use Redis Sentinel
	Master    string
	Node      string        // this node's id
	TTL       time.Duration // heartbeat expiry; default 10 s
	Log       *slog.Logger
}

// Redis is a node's view of the cluster.
type Redis struct {
	rdb     redis.UniversalClient
	node    string
	ttl     time.Duration
	log     *slog.Logger
	handler func(Delivery)
	lost    func(Delivery) // a delivery no node was listening for

	mu     sync.Mutex
	queues map[string]chan Delivery
	alive  map[string]aliveAt

	stop chan struct{}
	wg   sync.WaitGroup

	// Counters for the benchmark and metrics.
	Published, Batches, Received stat
}

type aliveAt struct {
	ok bool
	at time.Time
}

type stat struct {
	mu       sync.Mutex
	n, bytes int64
}

func (s *stat) add(n, b int64) { s.mu.Lock(); s.n += n; s.bytes += b; s.mu.Unlock() }

// Get returns the count and bytes.
func (s *stat) Get() (int64, int64) { s.mu.Lock(); defer s.mu.Unlock(); return s.n, s.bytes }

const prefix = "parley:"

// Join connects to Redis, announces the node and starts receiving.
// handle runs for each delivery addressed to this node.
func Join(ctx context.Context, cfg Config, handle func(Delivery)) (*Redis, error) {
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	opts := &redis.UniversalOptions{Addrs: []string{cfg.Addr}, Password: cfg.Password}
	if len(cfg.Sentinels) > 0 {
		opts.Addrs, opts.MasterName = cfg.Sentinels, cfg.Master
	}
	if cfg.TLS {
		opts.TLSConfig = tlsConfig()
	}
	r := &Redis{rdb: redis.NewUniversalClient(opts), node: cfg.Node, ttl: cfg.TTL, log: cfg.Log, handler: handle,
		queues: map[string]chan Delivery{}, alive: map[string]aliveAt{}, stop: make(chan struct{})}
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return nil, errors.Join(errors.New("cluster: redis unreachable"), err)
	}
	if err := r.beat(ctx, 0); err != nil {
		return nil, err
	}
	sub := r.rdb.Subscribe(ctx, prefix+"route:"+cfg.Node)
	if _, err := sub.Receive(ctx); err != nil {
		return nil, err
	}
	r.wg.Add(1)
	go r.receive(sub)
	return r, nil
}

// OnLost sets what happens to deliveries that reached no node.
func (r *Redis) OnLost(fn func(Delivery)) { r.lost = fn }

// Node is this node's id.
func (r *Redis) Node() string { return r.node }

// Ping reports whether Redis answers (readiness).
func (r *Redis) Ping(ctx context.Context) error { return r.rdb.Ping(ctx).Err() }

// Heartbeat refreshes the node's key every TTL/3 with its session count
// until ctx ends; sessions reports the count.
func (r *Redis) Heartbeat(ctx context.Context, sessions func() int) {
	t := time.NewTicker(r.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.stop:
			return
		case <-t.C:
			if err := r.beat(ctx, sessions()); err != nil {
				r.log.Warn("cluster: heartbeat failed", "err", err)
			}
		}
	}
}

func (r *Redis) beat(ctx context.Context, sessions int) error {
	p := r.rdb.Pipeline()
	p.Set(ctx, prefix+"node:"+r.node, sessions, r.ttl)
	p.SAdd(ctx, prefix+"nodes", r.node)
	_, err := p.Exec(ctx)
	return err
}

// NodeStatus is a live node and its session count.
type NodeStatus struct {
	Node     string `json:"node"`
	Sessions int    `json:"sessions"`
}

// Nodes lists the live nodes.
func (r *Redis) Nodes(ctx context.Context) ([]NodeStatus, error) {
	ids, err := r.rdb.SMembers(ctx, prefix+"nodes").Result()
	if err != nil {
		return nil, err
	}
	var out []NodeStatus
	for _, id := range ids {
		v, err := r.rdb.Get(ctx, prefix+"node:"+id).Result()
		if errors.Is(err, redis.Nil) {
			r.rdb.SRem(ctx, prefix+"nodes", id) // gone
			continue
		}
		if err != nil {
			return nil, err
		}
		n, _ := strconv.Atoi(v)
		out = append(out, NodeStatus{Node: id, Sessions: n})
	}
	return out, nil
}

func presKey(app, user int64) string {
	return prefix + "pres:" + strconv.FormatInt(app, 10) + ":" + strconv.FormatInt(user, 10)
}

// Bind records a session of this node (not yet available).
func (r *Redis) Bind(ctx context.Context, app, user int64, resource string) error {
	return r.rdb.HSet(ctx, presKey(app, user), resource, r.node+"|0|0").Err()
}

// SetPresence records a session's availability and priority.
func (r *Redis) SetPresence(ctx context.Context, app, user int64, resource string, available bool, priority int) error {
	a := "0"
	if available {
		a = "1"
	}
	return r.rdb.HSet(ctx, presKey(app, user), resource, r.node+"|"+a+"|"+strconv.Itoa(priority)).Err()
}

// Unbind removes a session of this node.
func (r *Redis) Unbind(ctx context.Context, app, user int64, resource string) error {
	return r.rdb.HDel(ctx, presKey(app, user), resource).Err()
}

// Sessions returns, for each user, its sessions on other live nodes, in
// one round trip.
func (r *Redis) Sessions(ctx context.Context, app int64, users []int64) (map[int64][]Session, error) {
	p := r.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(users))
	for i, u := range users {
		cmds[i] = p.HGetAll(ctx, presKey(app, u))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := map[int64][]Session{}
	for i, c := range cmds {
		for res, v := range c.Val() {
			parts := strings.SplitN(v, "|", 3)
			node := parts[0]
			if node == r.node {
				continue
			}
			if !r.isAlive(ctx, node) {
				r.rdb.HDel(ctx, presKey(app, users[i]), res) // a dead node's leftovers
				continue
			}
			s := Session{Node: node, Resource: res}
			if len(parts) == 3 {
				s.Available = parts[1] == "1"
				s.Priority, _ = strconv.Atoi(parts[2])
			}
			out[users[i]] = append(out[users[i]], s)
		}
	}
	return out, nil
}

// isAlive checks a node's heartbeat key, cached for a second.
func (r *Redis) isAlive(ctx context.Context, node string) bool {
	r.mu.Lock()
	a, ok := r.alive[node]
	r.mu.Unlock()
	if ok && time.Since(a.at) < time.Second {
		return a.ok
	}
	n, err := r.rdb.Exists(ctx, prefix+"node:"+node).Result()
	alive := err == nil && n == 1
	r.mu.Lock()
	r.alive[node] = aliveAt{alive, time.Now()}
	r.mu.Unlock()
	return alive
}

func watchKey(app, user int64) string {
	return prefix + "watch:" + strconv.FormatInt(app, 10) + ":" + strconv.FormatInt(user, 10)
}

// Watch records that this node has sessions following user's status.
func (r *Redis) Watch(ctx context.Context, app, user int64) error {
	p := r.rdb.Pipeline()
	p.SAdd(ctx, watchKey(app, user), r.node)
	p.Expire(ctx, watchKey(app, user), 24*time.Hour)
	_, err := p.Exec(ctx)
	return err
}

// Unwatch records that this node no longer follows user (its last local
// subscriber left).
func (r *Redis) Unwatch(ctx context.Context, app, user int64) error {
	return r.rdb.SRem(ctx, watchKey(app, user), r.node).Err()
}

// Watchers lists the live nodes, other than this one, following user.
func (r *Redis) Watchers(ctx context.Context, app, user int64) ([]string, error) {
	nodes, err := r.rdb.SMembers(ctx, watchKey(app, user)).Result()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range nodes {
		if n != r.node && r.isAlive(ctx, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// Broadcast sends d to every other live node.
func (r *Redis) Broadcast(ctx context.Context, d Delivery) error {
	nodes, err := r.Nodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Node != r.node {
			r.Send(n.Node, d)
		}
	}
	return nil
}

// Send queues d for node; deliveries to one node are published in batches.
// It reports false when that node's queue is full (the node is too slow or
// gone): the caller treats the recipients as unreachable.
func (r *Redis) Send(node string, d Delivery) bool {
	r.mu.Lock()
	q, ok := r.queues[node]
	if !ok {
		q = make(chan Delivery, 4096)
		r.queues[node] = q
		r.wg.Add(1)
		go r.flush(node, q)
	}
	r.mu.Unlock()
	select {
	case q <- d:
		return true
	default:
		return false
	}
}

// flush publishes what is queued for a node: one PUBLISH per batch.
func (r *Redis) flush(node string, q chan Delivery) {
	defer r.wg.Done()
	ch := prefix + "route:" + node
	batch := make([]Delivery, 0, 128)
	for {
		select {
		case <-r.stop:
			return
		case d := <-q:
			batch = append(batch[:0], d)
		more:
			for len(batch) < cap(batch) {
				select {
				case d := <-q:
					batch = append(batch, d)
				default:
					break more
				}
			}
			b, _ := json.Marshal(batch)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			listeners, err := r.rdb.Publish(ctx, ch, b).Result()
			cancel()
			if err != nil || listeners == 0 {
				// The node is gone (or Redis is): the recipients are not
				// reachable there, so their messages must be kept elsewhere.
				if err != nil {
					r.log.Warn("cluster: publish failed", "node", node, "err", err)
				}
				if r.lost != nil {
					for _, d := range batch {
						r.lost(d)
					}
				}
				continue
			}
			r.Published.add(int64(len(batch)), int64(len(b)))
			r.Batches.add(1, 0)
		}
	}
}

func (r *Redis) receive(sub *redis.PubSub) {
	defer r.wg.Done()
	ch := sub.Channel(redis.WithChannelSize(4096))
	for {
		select {
		case <-r.stop:
			sub.Close()
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			var batch []Delivery
			if err := json.Unmarshal([]byte(m.Payload), &batch); err != nil {
				r.log.Warn("cluster: bad delivery", "err", err)
				continue
			}
			r.Received.add(int64(len(batch)), int64(len(m.Payload)))
			for _, d := range batch {
				r.handler(d)
			}
		}
	}
}

// Leave removes this node from the cluster (clean shutdown): its presence
// entries are the xmpp layer's to remove; the heartbeat key goes now.
func (r *Redis) Leave(ctx context.Context) {
	close(r.stop)
	r.rdb.Del(ctx, prefix+"node:"+r.node)
	r.rdb.SRem(ctx, prefix+"nodes", r.node)
	r.wg.Wait()
	r.rdb.Close()
}

// Crash stops the node without any goodbye (tests of node death).
func (r *Redis) Crash() {
	close(r.stop)
	r.wg.Wait()
	r.rdb.Close()
}

// OnlineUsers lists users of app with a session on any live node (this one
// included), scanning the presence keys: at most max of them.
func (r *Redis) OnlineUsers(ctx context.Context, app int64, max int) ([]int64, error) {
	prefix := prefix + "pres:" + strconv.FormatInt(app, 10) + ":"
	var out []int64
	var cursor uint64
	for range 10_000 { // bounded: each step reads up to 1,000 keys
		keys, next, err := r.rdb.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if id, err := strconv.ParseInt(strings.TrimPrefix(k, prefix), 10, 64); err == nil {
				out = append(out, id)
				if len(out) >= max {
					return out, nil
				}
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	return out, nil
}
