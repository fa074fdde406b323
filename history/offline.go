package history

import (
	"context"
	"time"
)

// Offline is a message waiting for a user who had no available resource
// (XEP-0160). Stanza is the relayed stanza as it would have been delivered.
type Offline struct {
	Seq    int64
	Stanza []byte
	At     time.Time
	// Tag names the stream-management session the copy was written for while
	// it was hibernated: a resumed session replays the message itself and
	// drops the copies with DropOffline, so nothing is delivered twice.
	Tag string
}

// OfflineStore keeps per-user offline queues.
type OfflineStore interface {
	// PushOffline appends m (Seq is assigned) to the user's queue, dropping
	// the oldest beyond max; it returns how many were dropped.
	PushOffline(ctx context.Context, appID, uid int64, m Offline, max int) (dropped int, err error)
	// PopOffline removes and returns up to limit queued messages, oldest first.
	PopOffline(ctx context.Context, appID, uid int64, limit int) ([]Offline, error)
	// DropOffline removes the user's queued messages with the given tag.
	DropOffline(ctx context.Context, appID, uid int64, tag string) (int, error)
	OfflineCount(ctx context.Context, appID, uid int64) (int, error)
}
