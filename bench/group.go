package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// REST reaches Parley's HTTP API, for the scenarios that need dialogs
// (group rooms on Parley, history lookups). Other servers have no such API.
type REST struct {
	URL          string // e.g. http://127.0.0.1:8080 (loopback only)
	AppID        int64
	AuthKey      string
	LoginPattern string // REST login of user i, e.g. "bench%d"
	LoginFirst   int
}

func (r *REST) login(i int) string { return fmt.Sprintf(r.LoginPattern, r.LoginFirst+i) }

var restClient = &http.Client{Timeout: 30 * time.Second}

// call sends a JSON request and decodes a JSON answer into out.
func (r *REST) call(method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimRight(r.URL, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("CB-Token", token)
	}
	resp, err := restClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("bench: %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// session returns user i's session token and user id.
func (r *REST) session(i int, password string) (string, int64, error) {
	var out struct {
		Session struct {
			Token  string `json:"token"`
			UserID int64  `json:"user_id"`
		} `json:"session"`
	}
	err := r.call("POST", "/session.json", "", map[string]any{"application_id": r.AppID, "auth_key": r.AuthKey,
		"user": map[string]string{"login": r.login(i), "password": password}}, &out)
	return out.Session.Token, out.Session.UserID, err
}

func (r *REST) check() error {
	if r == nil || r.URL == "" {
		return fmt.Errorf("bench: this scenario needs Parley's HTTP API (--http, --app-id, --auth-key)")
	}
	u := strings.TrimPrefix(strings.TrimPrefix(r.URL, "http://"), "https://")
	host, _, _ := strings.Cut(u, "/")
	if !strings.Contains(host, ":") {
		host += ":80"
	}
	return CheckLoopback(host)
}

// userID is the Parley user id in a bound JID "<id>-<app>@domain/res".
func userID(jid string) string {
	local, _, _ := strings.Cut(jid, "@")
	id, _, _ := strings.Cut(local, "-")
	return id
}

// Group: rooms of Members users each; every Interval one member of each
// room (in turn) sends a message to the room, and every other member's
// delivery is timed. Rooms are Parley group dialogs created over HTTP
// (RoomMode "parley", no join needed) or XEP-0045 rooms every member
// joins (RoomMode "muc", ejabberd and Prosody).
func Group(t *Target, o Options) (*Result, error) {
	o.defaults()
	if err := CheckLoopback(t.Addr); err != nil {
		return nil, err
	}
	m := max(o.Members, 2)
	rooms := max(o.Users/m, 1)
	o.Users = rooms * m
	if o.RoomMode == "parley" {
		if err := t.REST.check(); err != nil {
			return nil, err
		}
	}
	clients, err := connectEvery(t, &o, false)
	if err != nil {
		return nil, err
	}
	defer closeAll(clients)
	jids := make([]string, rooms)
	err = inParallel(rooms, 8, func(r int) error {
		var err error
		members := clients[r*m : (r+1)*m]
		if o.RoomMode == "parley" {
			jids[r], err = parleyRoom(t, r*m, members)
		} else {
			jids[r], err = joinMUC(fmt.Sprintf("bench-room-%d@%s", r, o.MUCDomain), r*m, members)
		}
		return err
	})
	if err != nil {
		return nil, err
	}

	d := newDeliveries()
	var refused atomic.Int64 // messages the server answered with an error
	var firstRefusal atomic.Pointer[string]
	stop := make(chan struct{})
	readers := readAll(clients, stop, func(i int, s string) {
		if !strings.HasPrefix(s, "<message") {
			return
		}
		if attr(s, "type") == "error" {
			if refused.Add(1) == 1 {
				firstRefusal.Store(&s)
			}
			return
		}
		// A room reflects the sender's own message; only the others' count.
		if id := attr(s, "id"); !strings.HasSuffix(id, "-"+strconv.Itoa(i)) {
			d.recordAs(s, id+"@"+strconv.Itoa(i))
		}
	})
	defer func() { close(stop); readers.Wait() }()

	extra := ""
	if o.SaveToHistory {
		extra = `<extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams>`
	}
	pad := strings.Repeat("x", o.Size)
	var sent, sendErrs, seq atomic.Int64
	meter := startMeter(o.PID)
	deadline := meter.start.Add(o.Duration)
	var senders sync.WaitGroup
	for r := 0; r < rooms; r++ {
		senders.Add(1)
		go func(r int) {
			defer senders.Done()
			time.Sleep(time.Duration(r) * o.Interval / time.Duration(rooms))
			every := time.NewTicker(o.Interval)
			defer every.Stop()
			for k := 0; time.Now().Before(deadline); k++ {
				i := r*m + k%m
				id := "g" + strconv.FormatInt(seq.Add(1), 36) + "-" + strconv.Itoa(i)
				if err := clients[i].write(`<message xmlns="jabber:client" to="` + jids[r] + `" type="groupchat" id="` + id + `"><body>` + stamped(pad) + `</body>` + extra + `</message>`); err != nil {
					sendErrs.Add(1)
					return
				}
				sent.Add(1)
				<-every.C
			}
		}(r)
	}
	want := func() int64 { return sent.Load() * int64(m-1) }
	meter.follow(&senders, want, d.received.Load)
	settle(5*time.Second, want, d.received.Load)
	res := &Result{Server: o.Server, Scenario: "group", Sessions: len(clients), Logins: len(clients), Sent: sent.Load(),
		Errors: sendErrs.Load() + refused.Load(), Rooms: rooms, Members: m}
	if p := firstRefusal.Load(); p != nil {
		res.FirstError = *p
	}
	d.fill(res)
	res.Lost = max(want()-res.Received, 0)
	meter.finish(res)
	return res, nil
}

// parleyRoom creates a group dialog owned by the first member with the
// others as occupants, and returns its room JID.
func parleyRoom(t *Target, first int, members []*Client) (string, error) {
	tok, id, err := t.REST.session(first, t.pass(first))
	if err != nil {
		return "", err
	}
	if want := userID(members[0].JID); strconv.FormatInt(id, 10) != want {
		return "", fmt.Errorf("bench: REST login %s is user %d but XMPP user %d is %s: --login and --login-first must name the same users as --user and --first",
			t.REST.login(first), id, first, want)
	}
	ids := make([]string, 0, len(members)-1)
	for _, c := range members[1:] {
		ids = append(ids, userID(c.JID))
	}
	var out struct {
		RoomJID string `json:"xmpp_room_jid"`
	}
	err = t.REST.call("POST", "/chat/Dialog.json", tok, map[string]any{"type": 2, "name": "bench room " + strconv.Itoa(first),
		"occupants_ids": strings.Join(ids, ",")}, &out)
	if err == nil && out.RoomJID == "" {
		err = fmt.Errorf("bench: dialog created without xmpp_room_jid")
	}
	return out.RoomJID, err
}

// joinMUC has every member enter room (XEP-0045); the first creates it and
// accepts the default configuration (an instant room).
func joinMUC(room string, first int, members []*Client) (string, error) {
	for k, c := range members {
		nick := strconv.Itoa(first + k)
		if err := c.write(`<presence xmlns="jabber:client" to="` + room + "/" + nick + `"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`); err != nil {
			return "", err
		}
		// Our own presence comes back with status 110 (RFC-style self-presence).
		for {
			s, err := c.Next(15 * time.Second)
			if err != nil {
				return "", fmt.Errorf("bench: joining %s: %w", room, err)
			}
			if strings.HasPrefix(s, "<presence") && attr(s, "type") == "error" {
				return "", fmt.Errorf("bench: joining %s refused: %s", room, s)
			}
			if strings.HasPrefix(s, "<presence") && (strings.Contains(s, `code="110"`) || strings.Contains(s, `code='110'`)) {
				if strings.Contains(s, `code="201"`) || strings.Contains(s, `code='201'`) {
					c.write(`<iq xmlns="jabber:client" type="set" id="cfg" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#owner"><x xmlns="jabber:x:data" type="submit"/></query></iq>`)
					if _, err := c.untilID("cfg"); err != nil {
						return "", err
					}
				}
				break
			}
		}
	}
	return room, nil
}
