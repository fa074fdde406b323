// Package httpapi serves Parley's REST API on the ConnectyCube paths
// (/session.json, /users.json, ...) and the admin API.
package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/addressbook"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/meetings"
	"github.com/parley-chat/parley/objects"
	"github.com/parley-chat/parley/push"
	"github.com/parley-chat/parley/quota"
)

// API is the public REST API.
type API struct {
	accounts  *accounts.Service
	dialogs   *dialogs.Service
	history   *history.Archive
	live      Live
	push      *push.Service
	muc       string
	log       *slog.Logger
	mux       *routeMux
	logins    *loginLimits
	maxBody   int64
	files     *files.Service
	numbering numberingCache
	mailer    Mailer
	meetings  *meetings.Service
	book      *addressbook.Book
	objects   *objects.Service
	publicURL string
}

// Config is what the API serves from.
type Config struct {
	Accounts  *accounts.Service
	Dialogs   *dialogs.Service
	History   *history.Archive
	Live      Live // may be nil: REST changes are then not pushed
	Push      *push.Service
	MUCDomain string // room JIDs are <app>_<dialog>@MUCDomain
	Log       *slog.Logger
	// LoginGuard throttles password logins (POST /session.json with a user,
	// POST /login.json); nil uses one with accounts.DefaultLoginGuardConfig.
	// Share it with XMPP SASL so both count the same failures.
	LoginGuard *accounts.LoginGuard
	// Metrics registers the API's series; nil registers none.
	Metrics prometheus.Registerer
	// MaxBody is the largest request body, bytes; 0 means DefaultMaxBody.
	MaxBody int64
	// Files serves the storage API (blobs); nil leaves it out.
	Files *files.Service
	// PublicURL is the API's address as clients reach it, for the upload
	// URLs it hands out; empty: the address each request came to.
	PublicURL string
	// Mailer sends password reset links; nil refuses resets with 422.
	Mailer Mailer
	// Meetings serves /meetings.json and /whiteboards.json; nil leaves
	// them out.
	Meetings *meetings.Service
	// AddressBook serves /address_book.json; nil leaves it out.
	AddressBook *addressbook.Book
	// Objects serves custom objects (/data/…); nil leaves them out.
	Objects *objects.Service
}

// DefaultMaxBody is the default request body limit (1 MiB).
const DefaultMaxBody = 1 << 20

// New builds the REST API handler.
func New(cfg Config) *API {
	a := &API{accounts: cfg.Accounts, dialogs: cfg.Dialogs, history: cfg.History, live: cfg.Live, muc: cfg.MUCDomain,
		log: cmp.Or(cfg.Log, nopLogger), mux: newRouteMux(),
		logins: newLoginLimits(cfg.LoginGuard, cfg.Metrics), maxBody: cmp.Or(cfg.MaxBody, DefaultMaxBody)}
	if a.dialogs != nil && a.history != nil {
		a.routesChat()
	}
	if cfg.Push != nil {
		a.push = cfg.Push
		a.routesPush()
	}
	a.publicURL, a.mailer = cfg.PublicURL, cfg.Mailer
	if cfg.Files != nil {
		a.files = cfg.Files
		a.routesBlobs()
	}
	a.routesReset()
	if cfg.Meetings != nil {
		a.meetings = cfg.Meetings
		a.routesMeetings()
	}
	if cfg.Objects != nil {
		a.objects = cfg.Objects
		a.routesObjects()
	}
	if cfg.AddressBook != nil {
		a.book = cfg.AddressBook
		a.routesAddressBook()
	}
	a.mux.HandleFunc("POST /session.json", a.createSession)
	a.mux.HandleFunc("GET /session.json", a.withSession(a.getSession))
	a.mux.HandleFunc("DELETE /session.json", a.withSession(a.deleteSession))
	a.mux.HandleFunc("POST /login.json", a.withSession(a.login))
	a.mux.HandleFunc("DELETE /login.json", a.withSession(a.deleteSession))
	a.mux.HandleFunc("POST /users.json", a.signup)
	a.mux.HandleFunc("GET /users/v2.json", a.withSession(a.listUsers))
	a.routesUsers()
	a.mux.HandleFunc("GET /users/{id}", a.withSession(a.getUser))
	a.mux.HandleFunc("PUT /users/{id}", a.withSession(a.updateUser))
	a.mux.HandleFunc("PUT /users.json", a.withSession(a.updateUser))
	a.mux.HandleFunc("DELETE /users/{id}", a.withSession(a.deleteUser))
	a.mux.HandleFunc("DELETE /users.json", a.withSession(a.deleteUser))
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
	})
	return a
}

// ServeHTTP implements http.Handler with a body limit and CORS for browser
// apps (auth is by header token, never by cookie).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Headers", "CB-Token, CB-AuthKey, CB-SDK, Content-Type")
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if a.files != nil && r.URL.Path == uploadPath && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		a.upload(w, r) // streamed, under the files limits
		return
	}
	if !limitBody(w, r, a.maxBody) {
		return
	}
	if err := checkQuery(r.URL.Query()); err != nil {
		a.fail(w, r, err)
		return
	}
	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeError(w, http.StatusRequestEntityTooLarge, []string{"request body too large: the limit is " + strconv.FormatInt(mbe.Limit, 10) + " bytes"})
			} else {
				writeError(w, http.StatusBadRequest, []string{"request body could not be read"})
			}
			return
		}
		if c, bad := badXMLChars(r, body); bad {
			writeError(w, http.StatusUnprocessableEntity, xmlCharError(c))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("httpapi: panic", "path", r.URL.Path, "panic", v)
			writeError(w, http.StatusInternalServerError, []string{"internal error"})
		}
	}()
	a.mux.ServeHTTP(w, r)
}

// limitBody caps r's body at max bytes, answering 413 at once when the
// declared length is already over it.
func limitBody(w http.ResponseWriter, r *http.Request, max int64) bool {
	if r.ContentLength > max {
		writeError(w, http.StatusRequestEntityTooLarge, []string{"request body too large: the limit is " + strconv.FormatInt(max, 10) + " bytes"})
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, max)
	return true
}

type ctxKey struct{}

// withSession requires a live CB-Token.
func (a *API) withSession(next func(http.ResponseWriter, *http.Request, *accounts.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := a.accounts.SessionByToken(r.Context(), r.Header.Get("CB-Token"))
		if err != nil {
			if errors.Is(err, accounts.ErrUnauthorized) || errors.Is(err, accounts.ErrSessionExpired) {
				writeError(w, http.StatusUnauthorized, map[string][]string{"base": {"Required session does not exist"}})
				return
			}
			a.fail(w, r, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)), sess)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers {"errors": ...}, the shape the SDK expects.
func writeError(w http.ResponseWriter, status int, errs any) {
	writeJSON(w, status, map[string]any{"errors": errs})
}

// fail maps a domain error to its HTTP answer.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var verr accounts.ValidationError
	var berr badRequest
	var qerr *quota.Error
	var ferr *files.Refusal
	var mr *meetings.Refusal
	var or *objects.Refusal
	switch {
	case errors.As(err, &or):
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{or.Field: {or.Msg}})
	case errors.Is(err, objects.ErrNotFound):
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
	case errors.Is(err, objects.ErrForbidden):
		writeError(w, http.StatusForbidden, []string{"You don't have appropriate permissions to perform this operation"})
	case errors.As(err, &mr):
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{mr.Field: {mr.Msg}})
	case errors.Is(err, meetings.ErrNotFound):
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
	case errors.Is(err, meetings.ErrForbidden):
		writeError(w, http.StatusForbidden, []string{"only the creator changes it"})
	case errors.As(err, &ferr):
		status := http.StatusUnprocessableEntity
		if ferr.TooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, map[string][]string{ferr.Field: {ferr.Msg}})
	case errors.Is(err, files.ErrNotFound):
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
	case errors.Is(err, files.ErrForbidden):
		writeError(w, http.StatusForbidden, []string{"You don't have appropriate permissions to perform this operation"})
	case errors.Is(err, files.ErrConflict):
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"blob": {"already has its file"}})
	case errors.As(err, &verr):
		writeError(w, http.StatusUnprocessableEntity, map[string][]string(verr))
	case errors.As(err, &qerr):
		// A rate: try again later; a cap: remove something first.
		status := http.StatusUnprocessableEntity
		if qerr.Rate {
			status = http.StatusTooManyRequests
		}
		writeError(w, status, map[string][]string{"base": {qerr.Msg}})
	case errors.As(err, &berr):
		writeError(w, http.StatusBadRequest, []string{string(berr)})
	case errors.Is(err, accounts.ErrUnauthorized):
		writeError(w, http.StatusUnauthorized, []string{"Unauthorized"})
	case errors.Is(err, accounts.ErrForbidden):
		writeError(w, http.StatusForbidden, []string{"You don't have appropriate permissions to perform this operation"})
	case errors.Is(err, accounts.ErrNotFound):
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
	default:
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, []string{"request body too large: the limit is " + strconv.FormatInt(mbe.Limit, 10) + " bytes"})
			return
		}
		a.log.Error("httpapi: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, []string{"internal error"})
	}
}

type badRequest string

func (b badRequest) Error() string { return string(b) }

// decodeJSON reads a JSON body; an empty body decodes to nothing.
func decodeJSON(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil || len(body) == 0 {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return asBadRequest(err)
	}
	return nil
}

// readBody returns the request body, empty when it is only whitespace.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, nil
	}
	return body, nil
}

// asBadRequest keeps a badRequest from a field decoder, else wraps err.
func asBadRequest(err error) error {
	var b badRequest
	if errors.As(err, &b) {
		return b
	}
	return badRequest("request body is not valid JSON: " + err.Error())
}

var (
	jsonUnmarshal = json.Unmarshal
	jsonMarshal   = json.Marshal
)

// form returns the request's parameters: the query string, plus a
// form-encoded body for DELETE, where the SDK puts its parameters.
func form(r *http.Request) (url.Values, error) {
	q := r.URL.Query()
	if r.Method == http.MethodDelete && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		if len(body) > 0 {
			bv, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, badRequest("body is not form-encoded")
			}
			for k, vs := range bv {
				q[k] = append(q[k], vs...)
			}
		}
	}
	return q, nil
}

// pathValue is a path segment without the ".json" the SDK may add.
func pathValue(r *http.Request, name string) string {
	return strings.TrimSuffix(r.PathValue(name), ".json")
}

// pathID parses "{id}.json".
func pathID(r *http.Request) (int64, bool) {
	s := pathValue(r, "id")
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

func timeUnix(sec int64) time.Time { return time.Unix(sec, 0) }

func iso(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// flexInt64 accepts a JSON number or a numeric string.
type flexInt64 int64

func (f *flexInt64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return badRequest("expected an integer, got " + string(b))
	}
	*f = flexInt64(v)
	return nil
}

var nopLogger = slog.New(slog.DiscardHandler)
