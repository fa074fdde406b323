package bench

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// History: Parley's HTTP history and dialog-list lookups. Each user gets a
// session and a private dialog with its neighbour holding Seed messages;
// then Workers clients alternate a dialog-list page and a history page of
// Page messages for Duration (at most Rate requests per second in all when
// Rate is set). Latency is per request; errors are non-2xx answers.
func History(t *Target, o Options) (*Result, error) {
	o.defaults()
	if err := t.REST.check(); err != nil {
		return nil, err
	}
	n := max(o.Users, 2)
	seed, page := max(o.Seed, 1), max(o.Page, 1)
	tokens := make([]string, n)
	ids := make([]int64, n)
	dialogs := make([]string, n)
	err := inParallel(n, 8, func(i int) error {
		tok, id, err := t.REST.session(i, t.pass(i))
		tokens[i], ids[i] = tok, id
		return err
	})
	if err != nil {
		return nil, err
	}
	err = inParallel(n, 8, func(i int) error {
		var d struct {
			ID string `json:"_id"`
		}
		if err := t.REST.call("POST", "/chat/Dialog.json", tokens[i], map[string]any{"type": 3, "occupants_ids": strconv.FormatInt(ids[(i+1)%n], 10)}, &d); err != nil {
			return err
		}
		dialogs[i] = d.ID
		for k := 0; k < seed; k++ {
			if err := t.REST.call("POST", "/chat/Message.json", tokens[i], map[string]any{"chat_dialog_id": d.ID, "message": "history seed " + strconv.Itoa(k)}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	var wg sync.WaitGroup
	workers := max(o.Workers, 1)
	var mu sync.Mutex
	var lat []float64
	var done, errs atomic.Int64
	meter := startMeter(o.PID)
	start := meter.start
	deadline := start.Add(o.Duration)
	var next atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				k := next.Add(1)
				if o.Rate > 0 {
					if d := time.Until(start.Add(time.Duration(float64(k) / o.Rate * float64(time.Second)))); d > 0 {
						time.Sleep(d)
					}
				}
				i := int(k) % n
				path := "/chat/Dialog.json?limit=" + strconv.Itoa(page)
				if k%2 == 0 {
					path = "/chat/Message.json?chat_dialog_id=" + url.QueryEscape(dialogs[i]) + "&limit=" + strconv.Itoa(page) + "&sort_desc=date_sent&mark_as_read=0"
				}
				t0 := time.Now()
				err := t.REST.call("GET", path, tokens[i], nil, nil)
				ms := float64(time.Since(t0).Nanoseconds()) / 1e6
				if err != nil {
					errs.Add(1)
					continue
				}
				done.Add(1)
				mu.Lock()
				lat = append(lat, ms)
				mu.Unlock()
			}
		}()
	}
	meter.follow(&wg, func() int64 { return done.Load() + errs.Load() }, done.Load)
	slices.Sort(lat)
	r := &Result{Server: o.Server, Scenario: "history", Sessions: n, Sent: done.Load() + errs.Load(), Received: done.Load(),
		Errors: errs.Load(), Latencies: lat}
	r.quantiles(lat)
	meter.finish(r)
	if r.Received == 0 {
		return r, fmt.Errorf("bench: no history request succeeded (%d errors)", r.Errors)
	}
	return r, nil
}
