package xmpp

import (
	"net"
	"sync"
	"time"
)

// outQueue is a connection's bounded outbound queue. Any goroutine may push;
// one writer goroutine drains it, writing everything pending in one batch.
//
// Slow-consumer policy: when the bytes pending would pass the limit, the
// push fails, the stanza is counted as dropped and the connection is closed.
// A reader that cannot keep up is disconnected; memory never grows without
// bound.
type outQueue struct {
	mu      sync.Mutex
	pending [][]byte
	bytes   int
	limit   int
	closed  bool // no more pushes; the writer drains and then stops
	kick    chan struct{}
}

func (q *outQueue) init(limit int) {
	q.limit = limit
	q.kick = make(chan struct{}, 1)
}

// push queues b (which must not be modified afterwards). It reports false
// when the queue is closed or over its limit.
func (q *outQueue) push(b []byte) (ok, overflow bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false, false
	}
	if q.bytes+len(b) > q.limit && q.bytes > 0 {
		q.mu.Unlock()
		return false, true
	}
	q.pending = append(q.pending, b)
	q.bytes += len(b)
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
	return true, false
}

// room reports whether n more bytes fit.
func (q *outQueue) room(n int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.closed && (q.bytes == 0 || q.bytes+n <= q.limit)
}

// close stops further pushes; last, if non-nil, is queued first as the final
// element (a stream close or a stream error).
func (q *outQueue) close(last []byte) {
	q.mu.Lock()
	if !q.closed {
		if last != nil {
			q.pending = append(q.pending, last)
			q.bytes += len(last)
		}
		q.closed = true
	}
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// discard drops everything pending and the slice holding it (a session
// that hibernates keeps its stanzas in its stream-management state only).
func (q *outQueue) discard() {
	q.mu.Lock()
	q.pending, q.bytes, q.closed = nil, 0, true
	q.mu.Unlock()
}

// take swaps out everything pending. spare is reused as the next pending
// slice so a busy queue does not allocate.
func (q *outQueue) take(spare [][]byte) (batch [][]byte, closed bool) {
	q.mu.Lock()
	batch = q.pending
	q.pending = spare[:0]
	q.bytes = 0
	closed = q.closed
	q.mu.Unlock()
	return batch, closed
}

// chunkPool holds the buffers TLS writes are coalesced into: one TLS record
// and one syscall per batch instead of one per stanza.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// writeBatch writes batch to nc in as few calls as the transport allows:
// writev on plain TCP, coalesced 16 KiB chunks on TLS, and one message per
// element on WebSocket (RFC 7395 wants exactly one element per message).
func writeBatch(nc net.Conn, framed bool, batch [][]byte, timeout time.Duration) error {
	nc.SetWriteDeadline(time.Now().Add(timeout))
	if framed {
		for _, b := range batch {
			if _, err := nc.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	if _, ok := nc.(*net.TCPConn); ok {
		bufs := net.Buffers(batch)
		_, err := bufs.WriteTo(nc)
		return err
	}
	if len(batch) == 1 {
		_, err := nc.Write(batch[0])
		return err
	}
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	chunk := (*bp)[:0]
	for _, b := range batch {
		if len(chunk) > 0 && len(chunk)+len(b) > cap(chunk) {
			if _, err := nc.Write(chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
		if len(b) >= cap(chunk) {
			if _, err := nc.Write(b); err != nil {
				return err
			}
			continue
		}
		chunk = append(chunk, b...)
	}
	if len(chunk) > 0 {
		_, err := nc.Write(chunk)
		return err
	}
	return nil
}
