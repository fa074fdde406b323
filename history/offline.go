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
}

// OfflineStore keeps per-user offline queues.
type OfflineStore interface {
	// PushOffline appends to the user's queue, dropping the oldest beyond
	// max; it returns how many were dropped.
	PushOffline(ctx context.Context, appID, uid int64, stanza []byte, at time.Time, max int) (dropped int, err error)
	// PopOffline removes and returns up to limit queued messages, oldest first.
	PopOffline(ctx context.Context, appID, uid int64, limit int) ([]Offline, error)
	OfflineCount(ctx context.Context, appID, uid int64) (int, error)
}
