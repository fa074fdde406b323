package push

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Webhook POSTs each event as JSON to a URL, signed with
// X-Parley-Signature: sha256=<hex HMAC-SHA256 of the body with the shared
// secret>. Failed deliveries are retried with exponential backoff; the
// queue is bounded and a full queue drops the event (counted).
type Webhook struct {
	url     string
	secret  []byte
	client  *http.Client
	queue   chan Event
	log     *slog.Logger
	retries int
	backoff time.Duration
	wg      sync.WaitGroup
	stop    chan struct{}

	sent, failed, retried, dropped prometheus.Counter
}

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	URL     string
	Secret  string
	Queue   int           // default 10,000
	Workers int           // default 4
	Retries int           // attempts after the first; default 5
	Backoff time.Duration // first retry delay, doubled each time; default 500 ms
	Timeout time.Duration // per request; default 10 s
	Log     *slog.Logger
}

// NewWebhook starts the workers; Close stops them.
func NewWebhook(cfg WebhookConfig, reg prometheus.Registerer) *Webhook {
	if cfg.Queue <= 0 {
		cfg.Queue = 10_000
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	} else if cfg.Retries == 0 {
		cfg.Retries = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		reg.MustRegister(c)
		return c
	}
	w := &Webhook{url: cfg.URL, secret: []byte(cfg.Secret), client: &http.Client{Timeout: cfg.Timeout},
		queue: make(chan Event, cfg.Queue), log: cfg.Log, retries: cfg.Retries, backoff: cfg.Backoff, stop: make(chan struct{}),
		sent:    counter("parley_push_webhook_sent_total", "Push events delivered to the webhook."),
		failed:  counter("parley_push_webhook_failed_total", "Push events given up after every retry."),
		retried: counter("parley_push_webhook_retries_total", "Webhook delivery retries."),
		dropped: counter("parley_push_webhook_dropped_total", "Push events dropped because the queue was full."),
	}
	for i := 0; i < cfg.Workers; i++ {
		w.wg.Add(1)
		go w.work()
	}
	return w
}

// Send implements Sender.
func (w *Webhook) Send(ev Event) bool {
	select {
	case w.queue <- ev:
		return true
	default:
		w.dropped.Inc()
		return false
	}
}

// Close stops the workers after the current attempts.
func (w *Webhook) Close() {
	close(w.stop)
	w.wg.Wait()
}

// Sign returns the signature header value for body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (w *Webhook) work() {
	defer w.wg.Done()
	for {
		select {
		case <-w.stop:
			return
		case ev := <-w.queue:
			w.deliver(ev)
		}
	}
}

func (w *Webhook) deliver(ev Event) {
	body, _ := json.Marshal(ev)
	delay := w.backoff
	for attempt := 0; ; attempt++ {
		if w.post(ev.ID, body) {
			w.sent.Inc()
			return
		}
		if attempt >= w.retries {
			w.failed.Inc()
			w.log.Warn("push: webhook gave up", "event", ev.ID, "attempts", attempt+1)
			return
		}
		w.retried.Inc()
		select {
		case <-w.stop:
			return
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func (w *Webhook) post(id string, body []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), w.client.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Parley-Event", id)
	req.Header.Set("X-Parley-Signature", Sign(w.secret, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}
