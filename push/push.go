// Package push turns messages that reach users who are away into push
// events, and keeps the device subscriptions a push gateway needs.
//
// A user is away when no session of theirs is online, or every online
// session marked itself inactive (XEP-0352 CSI or the SDK's mobile#v2). A
// message with extraParams silent=1, or to a dialog the user muted, raises
// no event.
package push

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/quota"
)

// Event is one push to deliver.
type Event struct {
	ID            string         `json:"id"`
	AppID         int64          `json:"app_id"`
	Recipients    []int64        `json:"recipients"`
	DialogID      string         `json:"dialog_id,omitempty"`
	SenderID      int64          `json:"sender_id"`
	MessageID     string         `json:"message_id,omitempty"`
	Type          string         `json:"type"` // chat, groupchat, headline
	Text          string         `json:"text"` // preview, at most PreviewLen runes
	At            time.Time      `json:"at"`
	Subscriptions []Subscription `json:"subscriptions"`
}

// PreviewLen bounds an event's text.
const PreviewLen = 120

// Subscription is a device registered for pushes.
type Subscription struct {
	ID          int64     `json:"id"`
	AppID       int64     `json:"-"`
	UserID      int64     `json:"user_id"`
	Channel     string    `json:"channel"`  // apns, apns_voip, gcm, fcm, web
	Platform    string    `json:"platform"` // ios, android, web
	DeviceUDID  string    `json:"device_udid"`
	Token       string    `json:"token"`
	Environment string    `json:"environment"` // production, development
	BundleID    string    `json:"bundle_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// Store keeps subscriptions.
type Store interface {
	CreateSubscription(ctx context.Context, s *Subscription) error // replaces the same device and channel
	Subscriptions(ctx context.Context, appID int64, userIDs []int64) ([]Subscription, error)
	DeleteSubscription(ctx context.Context, appID, userID, id int64) error
	// Events counts subscription writes for Limits.
	quota.Events
}

// Sender delivers events (a webhook, or anything else put behind it).
type Sender interface {
	Send(ev Event) bool // false when the event could not be queued
}

// ErrNotFound is a missing subscription.
var ErrNotFound = errors.New("push: not found")

// Channels accepted for subscriptions.
var Channels = map[string]bool{"apns": true, "apns_voip": true, "gcm": true, "fcm": true, "web": true}

// Service registers devices and raises events.
type Service struct {
	store  Store
	sender Sender
	limits atomic.Pointer[Limits]
}

// Limits bound one user's push subscriptions. Zero disables a limit. Every
// field is a parley serve setting, named in its comment.
type Limits struct {
	// MaxSubscriptions bounds the devices and channels of one user: a new
	// one beyond it is refused until one is removed
	// (push-subscriptions-per-user).
	MaxSubscriptions int
	// PerHour bounds subscription writes (new or renewed) of one user
	// (push-subscriptions-per-hour).
	PerHour int
}

// DefaultLimits are the limits of a new Service.
func DefaultLimits() Limits { return Limits{MaxSubscriptions: 20, PerHour: 60} }

// SetLimits replaces the limits (safe while serving: a reload).
func (s *Service) SetLimits(l Limits) { s.limits.Store(&l) }

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return *s.limits.Load() }

const eventSubscribed = "push.subscribed"

// NewService returns a Service with DefaultLimits; sender may be nil
// (events are dropped).
func NewService(store Store, sender Sender) *Service {
	s := &Service{store: store, sender: sender}
	s.SetLimits(DefaultLimits())
	return s
}

// Subscribe registers a device; the same device and channel again renews
// it.
func (s *Service) Subscribe(ctx context.Context, sub *Subscription) error {
	if !Channels[sub.Channel] || sub.Token == "" || sub.DeviceUDID == "" || len(sub.Token) > 4096 {
		return ErrInvalid
	}
	if sub.Environment == "" {
		sub.Environment = "production"
	}
	now := time.Now().UTC()
	l := s.Limits()
	rates := []quota.Rate{{Setting: "push-subscriptions-per-hour", N: l.PerHour, Per: time.Hour}}
	err := quota.Check(ctx, s.store, sub.AppID, eventSubscribed, []int64{sub.UserID}, now,
		func(int64) string { return "too many push subscriptions made" }, rates...)
	if err != nil {
		return err
	}
	if l.MaxSubscriptions > 0 {
		have, err := s.store.Subscriptions(ctx, sub.AppID, []int64{sub.UserID})
		if err != nil {
			return err
		}
		renewal := slices.ContainsFunc(have, func(h Subscription) bool { return h.DeviceUDID == sub.DeviceUDID && h.Channel == sub.Channel })
		if !renewal && len(have) >= l.MaxSubscriptions {
			return quota.Cap("push-subscriptions-per-user", l.MaxSubscriptions, "too many push subscriptions: delete one (DELETE /subscriptions/{id}.json) first")
		}
	}
	sub.CreatedAt = now
	if err := s.store.CreateSubscription(ctx, sub); err != nil {
		return err
	}
	return quota.Record(ctx, s.store, sub.AppID, eventSubscribed, []int64{sub.UserID}, now, rates...)
}

// ErrInvalid is a subscription the API refuses.
var ErrInvalid = errors.New("push: invalid subscription")

// List returns a user's subscriptions.
func (s *Service) List(ctx context.Context, appID, uid int64) ([]Subscription, error) {
	return s.store.Subscriptions(ctx, appID, []int64{uid})
}

// Unsubscribe removes one of a user's subscriptions.
func (s *Service) Unsubscribe(ctx context.Context, appID, uid, id int64) error {
	return s.store.DeleteSubscription(ctx, appID, uid, id)
}

// Notify enriches ev with the recipients' devices and hands it to the
// sender. It never blocks on delivery.
func (s *Service) Notify(ctx context.Context, ev Event) {
	if s.sender == nil || len(ev.Recipients) == 0 {
		return
	}
	if r := []rune(ev.Text); len(r) > PreviewLen {
		ev.Text = string(r[:PreviewLen-1]) + "…"
	}
	subs, err := s.store.Subscriptions(ctx, ev.AppID, ev.Recipients)
	if err == nil {
		ev.Subscriptions = subs
	}
	if ev.Subscriptions == nil {
		ev.Subscriptions = []Subscription{}
	}
	s.sender.Send(ev)
}
