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
	var setupErr atomic.Pointer[error]
	fail := func(err error) { setupErr.CompareAndSwap(nil, &err) }
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			tok, id, err := t.REST.session(i, t.pass(i))
			if err != nil {
				fail(err)
				return
			}
			tokens[i], ids[i] = tok, id
		}(i)
	}
	wg.Wait()
	if p := setupErr.Load(); p != nil {
		return nil, *p
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var d struct {
				ID string `json:"_id"`
			}
			if err := t.REST.call("POST", "/chat/Dialog.json", tokens[i], map[string]any{"type": 3, "occupants_ids": strconv.FormatInt(ids[(i+1)%n], 10)}, &d); err != nil {
				fail(err)
				return
			}
			dialogs[i] = d.ID
			for k := 0; k < seed; k++ {
				if err := t.REST.call("POST", "/chat/Message.json", tokens[i], map[string]any{"chat_dialog_id": d.ID, "message": "history seed " + strconv.Itoa(k)}, nil); err != nil {
					fail(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	if p := setupErr.Load(); p != nil {
		return nil, *p
	}

	workers := max(o.Workers, 1)
	var mu sync.Mutex
	var lat []float64
	var done, errs atomic.Int64
	var timeline []Point
	p := Proc{o.PID}
	cpu0 := p.CPUSeconds()
	start := time.Now()
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
	fin := make(chan struct{})
	go func() { wg.Wait(); close(fin) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
loop:
	for {
		select {
		case <-fin:
			break loop
		case <-tick.C:
			timeline = append(timeline, Point{T: int(time.Since(start).Seconds()), Sent: done.Load() + errs.Load(), Received: done.Load()})
		}
	}
	elapsed := time.Since(start)
	slices.Sort(lat)
	r := &Result{Server: o.Server, Scenario: "history", Sessions: n, Sent: done.Load() + errs.Load(), Received: done.Load(),
		Errors: errs.Load(), Latencies: lat, Timeline: timeline}
	r.MsgsPerSec = float64(r.Received) / elapsed.Seconds()
	if len(lat) > 0 {
		q := func(f float64) float64 { return lat[min(int(f*float64(len(lat))), len(lat)-1)] }
		r.P50ms, r.P95ms, r.P99ms, r.Maxms = q(0.50), q(0.95), q(0.99), lat[len(lat)-1]
	}
	if o.PID > 0 {
		r.ServerCPUs, r.ServerRSSKiB = p.CPUSeconds()-cpu0, p.RSSKiB()
		if r.Received > 0 {
			r.CPUPer1kMsgs = r.ServerCPUs / float64(r.Received) * 1000
		}
	}
	if r.Received == 0 {
		return r, fmt.Errorf("bench: no history request succeeded (%d errors)", r.Errors)
	}
	return r, nil
}
