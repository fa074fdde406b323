package httpapi

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/cluster"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/objects"
)

// Broadcasts creates broadcast dialogs (operator only).
type Broadcasts interface {
	CreateBroadcast(ctx context.Context, appID, owner int64, name string) (*dialogs.Dialog, error)
}

// Admin is the operator API on the admin address. Everything but /healthz
// and /readyz needs "Authorization: Bearer <admin token>".
type Admin struct {
	Accounts *accounts.Service
	Token    string
	Metrics  http.Handler
	Version  string
	Log      *slog.Logger
	// Ready reports whether the node can serve (its stores answer).
	Ready func(ctx context.Context) error
	// Sessions counts bound XMPP sessions on this node.
	Sessions func() int
	// Dialogs creates broadcast dialogs; nil disables the endpoint.
	Dialogs Broadcasts
	// Cluster lists live nodes; nil on a single node.
	Cluster ClusterStatus
	// Kick ends a user's sessions on every node; nil disables it.
	Kick func(app, user int64) int
	// MaxBody is the largest request body, bytes; 0 means DefaultMaxBody.
	MaxBody int64
	// Objects defines custom object classes; nil disables the endpoints.
	Objects *objects.Service
}

func (ad *Admin) listClasses(w http.ResponseWriter, r *http.Request) {
	app, ok := pathInt(r, "app")
	if !ok {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return
	}
	cs, err := ad.Objects.Classes(r.Context(), app)
	if err != nil {
		ad.fail(w, r, err)
		return
	}
	if cs == nil {
		cs = []objects.Class{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": cs})
}

// defineClass creates or redefines a class: {"name", "fields":[{name,
// type}], "permissions":{"read","update","delete"}} (open or owner).
func (ad *Admin) defineClass(w http.ResponseWriter, r *http.Request) {
	app, ok := pathInt(r, "app")
	if !ok {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return
	}
	var in struct {
		Name        string          `json:"name"`
		Fields      []objects.Field `json:"fields"`
		Permissions struct {
			Read, Update, Delete string
		} `json:"permissions"`
	}
	if err := decodeJSON(r, &in); err != nil {
		ad.fail(w, r, err)
		return
	}
	if _, err := ad.Accounts.App(r.Context(), app); err != nil {
		ad.fail(w, r, err)
		return
	}
	c := &objects.Class{AppID: app, Name: in.Name, Fields: in.Fields, Read: in.Permissions.Read, Update: in.Permissions.Update, Delete: in.Permissions.Delete}
	if err := ad.Objects.DefineClass(r.Context(), c); err != nil {
		var ref *objects.Refusal
		if errors.As(err, &ref) {
			writeError(w, http.StatusUnprocessableEntity, map[string][]string{ref.Field: {ref.Msg}})
			return
		}
		ad.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"class": c})
}

// ClusterStatus lists the live nodes of a cluster.
type ClusterStatus interface {
	Nodes(ctx context.Context) ([]cluster.NodeStatus, error)
}

// Handler returns the admin API's handler.
func (ad *Admin) Handler() http.Handler {
	mux := ad.routes()
	maxBody := cmp.Or(ad.MaxBody, DefaultMaxBody)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limitBody(w, r, maxBody) {
			mux.ServeHTTP(w, r)
		}
	})
}

func (ad *Admin) routes() *routeMux {
	mux := newRouteMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ad.Ready != nil {
			if err := ad.Ready(r.Context()); err != nil {
				writeError(w, http.StatusServiceUnavailable, []string{err.Error()})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	auth := ad.authorized
	mux.Handle("GET /metrics", auth(ad.Metrics.ServeHTTP))
	// Profiles for performance work (parley bench + go tool pprof).
	mux.HandleFunc("GET /debug/pprof/", auth(pprof.Index))
	mux.HandleFunc("GET /debug/pprof/profile", auth(pprof.Profile))
	mux.HandleFunc("GET /debug/pprof/heap", auth(pprof.Handler("heap").ServeHTTP))
	mux.HandleFunc("GET /api/version", auth(func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{"version": ad.Version}
		if ad.Sessions != nil {
			out["sessions"] = ad.Sessions()
		}
		writeJSON(w, http.StatusOK, out)
	}))
	mux.HandleFunc("GET /api/apps", auth(ad.listApps))
	mux.HandleFunc("POST /api/apps", auth(ad.createApp))
	mux.HandleFunc("POST /api/apps/{app}/auth_key", auth(ad.rotateAuthKey))
	mux.HandleFunc("GET /api/apps/{app}/users", auth(ad.listUsers))
	mux.HandleFunc("POST /api/apps/{app}/users", auth(ad.addUser))
	mux.HandleFunc("PUT /api/apps/{app}/users/{id}/password", auth(ad.setPassword))
	mux.HandleFunc("DELETE /api/apps/{app}/users/{id}", auth(ad.deleteUser))
	mux.HandleFunc("DELETE /api/apps/{app}/users/{id}/sessions", auth(func(w http.ResponseWriter, r *http.Request) {
		app, id, ok := appUser(w, r)
		if !ok {
			return
		}
		n := 0
		if ad.Kick != nil {
			n = ad.Kick(app, id)
		}
		writeJSON(w, http.StatusOK, map[string]any{"kicked_here": n})
	}))
	mux.HandleFunc("POST /api/apps/{app}/broadcasts", auth(ad.createBroadcast))
	if ad.Objects != nil {
		mux.HandleFunc("GET /api/apps/{app}/classes", auth(ad.listClasses))
		mux.HandleFunc("POST /api/apps/{app}/classes", auth(ad.defineClass))
	}
	mux.HandleFunc("GET /api/cluster", auth(func(w http.ResponseWriter, r *http.Request) {
		if ad.Cluster == nil {
			n := 0
			if ad.Sessions != nil {
				n = ad.Sessions()
			}
			writeJSON(w, http.StatusOK, map[string]any{"mode": "single", "nodes": []cluster.NodeStatus{{Node: "local", Sessions: n}}})
			return
		}
		nodes, err := ad.Cluster.Nodes(r.Context())
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, []string{"redis: " + err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"mode": "cluster", "nodes": nodes})
	}))
	return mux
}

func (ad *Admin) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || ad.Token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ad.Token)) != 1 {
			writeError(w, http.StatusUnauthorized, []string{"admin token required: send Authorization: Bearer <token from the data dir's admin-token file>"})
			return
		}
		next(w, r)
	}
}

type appJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// AuthKey is present only when the key was just made (create, rotate):
	// stores keep only its hash.
	AuthKey          string   `json:"auth_key,omitempty"`
	AutoCreateUsers  bool     `json:"auto_create_users"`
	Guests           bool     `json:"guests"`
	ShowContacts     bool     `json:"show_contacts"`
	ArchiveAll       bool     `json:"archive_all"`
	DialogTypes      string   `json:"dialog_types"`
	DialogExtensions []string `json:"dialog_extensions"`
	CreatedAt        any      `json:"created_at"`
}

func appOut(a *accounts.App) appJSON {
	return appJSON{ID: a.ID, Name: a.Name, AuthKey: a.AuthKey, Guests: a.Guests, AutoCreateUsers: a.AutoCreateUsers, ShowContacts: a.ShowContacts, ArchiveAll: a.ArchiveAll, DialogExtensions: a.DialogExtensions, DialogTypes: numbering(a.DialogTypes), CreatedAt: iso(a.CreatedAt)}
}

func (ad *Admin) fail(w http.ResponseWriter, r *http.Request, err error) {
	(&API{log: cmp.Or(ad.Log, nopLogger)}).fail(w, r, err)
}

func (ad *Admin) listApps(w http.ResponseWriter, r *http.Request) {
	apps, err := ad.Accounts.Apps(r.Context())
	if err != nil {
		ad.fail(w, r, err)
		return
	}
	out := make([]appJSON, 0, len(apps))
	for i := range apps {
		out = append(out, appOut(&apps[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (ad *Admin) createApp(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name             string   `json:"name"`
		AutoCreateUsers  bool     `json:"auto_create_users"`
		Guests           bool     `json:"guests"`
		ShowContacts     bool     `json:"show_contacts"`
		ArchiveAll       bool     `json:"archive_all"`
		DialogTypes      string   `json:"dialog_types"`
		DialogExtensions []string `json:"dialog_extensions"`
	}
	if err := decodeJSON(r, &req); err != nil {
		ad.fail(w, r, err)
		return
	}
	if req.Name == "" {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"name": {"is required"}})
		return
	}
	app, err := ad.Accounts.CreateApp(r.Context(), req.Name, accounts.AppOptions{Guests: req.Guests, AutoCreateUsers: req.AutoCreateUsers, ShowContacts: req.ShowContacts, ArchiveAll: req.ArchiveAll, DialogExtensions: req.DialogExtensions, DialogTypes: req.DialogTypes})
	if err != nil {
		ad.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"app": appOut(app)})
}

// rotateAuthKey gives an app a new auth key and answers it (the only time
// it is shown).
func (ad *Admin) rotateAuthKey(w http.ResponseWriter, r *http.Request) {
	id, ok := pathInt(r, "app")
	if !ok {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return
	}
	app, err := ad.Accounts.App(r.Context(), id)
	if err != nil {
		ad.fail(w, r, err)
		return
	}
	if app.AuthKey, err = ad.Accounts.RotateAuthKey(r.Context(), id); err != nil {
		ad.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"app": appOut(app)})
}

func pathInt(r *http.Request, name string) (int64, bool) {
	v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return v, err == nil && v > 0
}

// appUser parses /api/apps/{app}/users/{id}, answering 404 when it cannot.
func appUser(w http.ResponseWriter, r *http.Request) (app, id int64, ok bool) {
	app, ok1 := pathInt(r, "app")
	id, ok2 := pathInt(r, "id")
	if !ok1 || !ok2 {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return 0, 0, false
	}
	return app, id, true
}

func (ad *Admin) listUsers(w http.ResponseWriter, r *http.Request) {
	app, ok := pathInt(r, "app")
	if !ok {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return
	}
	q := accounts.UserQuery{Limit: 100}
	q.Offset, _ = strconv.Atoi(r.URL.Query().Get("offset"))
	users, total, err := ad.Accounts.Users(r.Context(), app, q)
	if err != nil {
		ad.fail(w, r, err)
		return
	}
	items := make([]userJSON, 0, len(users))
	for i := range users {
		items = append(items, userOut(&users[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_entries": total, "items": items})
}

func (ad *Admin) addUser(w http.ResponseWriter, r *http.Request) {
	app, ok := pathInt(r, "app")
	if !ok {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return
	}
	var req userInputJSON
	if err := decodeJSON(r, &req); err != nil {
		ad.fail(w, r, err)
		return
	}
	u, err := ad.Accounts.CreateUser(r.Context(), app, req.input())
	if err != nil {
		ad.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": userOut(u)})
}

func (ad *Admin) setPassword(w http.ResponseWriter, r *http.Request) {
	app, id, ok := appUser(w, r)
	if !ok {
		return
	}
	var req struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &req); err != nil {
		ad.fail(w, r, err)
		return
	}
	u, err := ad.Accounts.UpdateUser(r.Context(), app, id, accounts.UserInput{Password: &req.Password}, true)
	if err != nil {
		ad.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userOut(u)})
}

func (ad *Admin) deleteUser(w http.ResponseWriter, r *http.Request) {
	app, id, ok := appUser(w, r)
	if !ok {
		return
	}
	if err := ad.Accounts.DeleteUser(r.Context(), app, id); err != nil {
		ad.fail(w, r, err)
		return
	}
	if ad.Kick != nil {
		ad.Kick(app, id) // a deleted user keeps no open session
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// createBroadcast makes a broadcast dialog: it reaches every user of the
// app; its owner (and admins) post to it.
func (ad *Admin) createBroadcast(w http.ResponseWriter, r *http.Request) {
	app, ok := pathInt(r, "app")
	if !ok || ad.Dialogs == nil {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return
	}
	var req struct {
		Name  string    `json:"name"`
		Owner flexInt64 `json:"owner_id"`
	}
	if err := decodeJSON(r, &req); err != nil {
		ad.fail(w, r, err)
		return
	}
	if req.Name == "" || req.Owner == 0 {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"base": {"name and owner_id are required"}})
		return
	}
	if _, err := ad.Accounts.User(r.Context(), app, int64(req.Owner)); err != nil {
		ad.fail(w, r, err)
		return
	}
	d, err := ad.Dialogs.CreateBroadcast(r.Context(), app, int64(req.Owner), req.Name)
	if err != nil {
		ad.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"dialog": map[string]any{"_id": d.ID, "type": int(d.Type), "name": d.Name, "user_id": d.OwnerID}})
}

// numbering names an app's dialog type numbering.
func numbering(v string) string {
	if v == "" {
		return "sdk"
	}
	return v
}
