package xmpp_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/dialogs"
)

func quantile(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return float64(d[min(len(d)-1, int(q*float64(len(d))))]) / float64(time.Millisecond)
}

// BenchmarkRoomOf1000: a group dialog (room) of 1,000 occupants, 50 of
// them online over TLS, 50 messages in its archive. It reports the time
// from a join presence (asking for 20 messages of history) to the subject
// that ends the join, and the delivery latency of messages fanned out to
// the 49 other online occupants at 100 msgs/s. Clients and server share
// the machine.
func BenchmarkRoomOf1000(b *testing.B) {
	const occupants, online, joins, msgs = 1000, 50, 200, 200
	for i := 0; i < b.N; i++ {
		e := newChatEnv(b)
		ctx := context.Background()
		ids := make([]int64, occupants)
		jids := make([]string, occupants)
		for u := range occupants {
			jids[u], _ = e.user(fmt.Sprintf("user%d", u), "user-password")
			ids[u], _ = strconv.ParseInt(jids[u][:strings.Index(jids[u], "-")], 10, 64)
		}
		typ, name := dialogs.Group, "big"
		v, err := e.ds.Create(ctx, e.app.ID, ids[0], dialogs.Input{Type: &typ, Name: &name, Occupants: ids[1:]})
		if err != nil {
			b.Fatal(err)
		}
		room := dialogs.RoomJID(e.app.ID, v.ID, "muc.localhost")
		cs := make([]*client, online)
		for u := range online {
			cs[u] = e.login(viaTLS, jids[u], "user-password")
		}
		save := `<extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams>`
		for m := range 50 {
			cs[0].send(fmt.Sprintf(`<message to="%s" type="groupchat" id="seed%d"><body>seed</body>%s</message>`, room, m, save))
		}
		cs[1].readUntil(`id="seed49"`)

		// Joins with history.
		j := cs[1]
		var joinLat []time.Duration
		for n := range joins {
			start := time.Now()
			j.send(`<presence to="` + room + `/u1"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="20"/></x></presence>`)
			j.readUntil("<subject")
			joinLat = append(joinLat, time.Since(start))
			j.send(`<presence type="unavailable" to="` + room + `/u1"/>`)
			j.readUntil(`type="unavailable"`)
			_ = n
		}

		// Fan-out to the other online occupants, paced.
		var mu sync.Mutex
		var fan []time.Duration
		var wg sync.WaitGroup
		for _, c := range cs[1:] {
			wg.Add(1)
			go func(c *client) {
				defer wg.Done()
				for got := 0; got < msgs; {
					k, s := c.readUnit(10 * time.Second)
					if k == 0 {
						return
					}
					if i := strings.Index(s, "<body>t"); i >= 0 {
						ns, _ := strconv.ParseInt(s[i+7:i+7+strings.Index(s[i+7:], "<")], 10, 64)
						mu.Lock()
						fan = append(fan, time.Duration(time.Now().UnixNano()-ns))
						mu.Unlock()
						got++
					}
				}
			}(c)
		}
		tick := time.NewTicker(10 * time.Millisecond)
		for m := range msgs {
			<-tick.C
			cs[0].send(fmt.Sprintf(`<message to="%s" type="groupchat" id="f%d"><body>t%d</body>%s</message>`, room, m, time.Now().UnixNano(), save))
		}
		tick.Stop()
		wg.Wait()
		if len(fan) != msgs*(online-1) {
			b.Fatalf("%d deliveries, want %d", len(fan), msgs*(online-1))
		}
		b.ReportMetric(quantile(joinLat, 0.5), "join-p50-ms")
		b.ReportMetric(quantile(joinLat, 0.99), "join-p99-ms")
		b.ReportMetric(quantile(fan, 0.5), "fanout-p50-ms")
		b.ReportMetric(quantile(fan, 0.99), "fanout-p99-ms")
	}
}
