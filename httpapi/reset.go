package httpapi

import (
	"context"
	"errors"
	"html/template"
	"net/http"

	"github.com/parley-chat/parley/accounts"
)

// Mailer sends mail (the install's SMTP relay).
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

func (a *API) routesReset() {
	a.mux.HandleFunc("POST /users/password/reset.json", a.requestReset)
	a.mux.HandleFunc("GET /users/password/reset.html", a.resetForm)
	a.mux.HandleFunc("POST /users/password/reset.html", a.resetSubmit)
	a.mux.HandleFunc("POST /users/password/reset/confirm.json", a.resetConfirm)
}

// requestReset is users.resetPassword(email): a link by e-mail. The answer
// is the same whether the address is known or not.
func (a *API) requestReset(w http.ResponseWriter, r *http.Request) {
	var app int64
	if s, err := a.accounts.SessionByToken(r.Context(), r.Header.Get("CB-Token")); err == nil {
		app = s.AppID
	} else if key := r.Header.Get("CB-AuthKey"); key != "" {
		if ap, err := a.accounts.AppByAuthKey(r.Context(), key); err == nil {
			app = ap.ID
		}
	}
	if app == 0 {
		writeError(w, http.StatusUnauthorized, map[string][]string{"base": {"Required session does not exist"}})
		return
	}
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if a.mailer == nil {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"base": {"password reset by e-mail is not configured on this server (--smtp-addr)"}})
		return
	}
	token, u, err := a.accounts.PasswordResetToken(r.Context(), app, in.Email)
	switch {
	case errors.Is(err, accounts.ErrNotFound):
	case err != nil:
		a.fail(w, r, err)
		return
	default:
		link := a.baseURL(r) + "/users/password/reset.html?token=" + token
		body := "Hello " + u.Login + ",\n\nsomeone asked to reset the password of your account. To choose a new one, open\n\n" + link +
			"\n\nThe link works for an hour, once. If you did not ask, ignore this message.\n"
		if err := a.mailer.Send(r.Context(), u.Email, "Reset your password", body); err != nil {
			a.log.Error("httpapi: reset e-mail not sent", "err", err)
			writeError(w, http.StatusServiceUnavailable, []string{"the e-mail could not be sent; try again later"})
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// baseURL is this API's address as the client reached it (or PublicURL).
func (a *API) baseURL(r *http.Request) string {
	if a.publicURL != "" {
		return a.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

var resetPage = template.Must(template.New("reset").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Reset your password</title></head><body>
{{if .Done}}<p>Your password is changed. Sign in again in the app.</p>
{{else}}{{if .Error}}<p><strong>{{.Error}}</strong></p>{{end}}
<form method="post" action="reset.html">
<input type="hidden" name="token" value="{{.Token}}">
<label>New password <input type="password" name="password" minlength="8" required></label>
<button>Set the password</button>
</form>{{end}}
</body></html>`))

type resetView struct {
	Token, Error string
	Done         bool
}

func (a *API) resetForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'")
	resetPage.Execute(w, resetView{Token: r.URL.Query().Get("token")})
}

func (a *API) resetSubmit(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'")
	token, password := r.PostFormValue("token"), r.PostFormValue("password")
	if err := a.reset(r.Context(), token, password); err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		msg := "The password could not be set."
		var v accounts.ValidationError
		if errors.As(err, &v) {
			for f, m := range v {
				msg = f + " " + m[0]
			}
		}
		resetPage.Execute(w, resetView{Token: token, Error: msg})
		return
	}
	resetPage.Execute(w, resetView{Done: true})
}

// resetConfirm is the same for apps: {"token","password"}.
func (a *API) resetConfirm(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.reset(r.Context(), in.Token, in.Password); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (a *API) reset(ctx context.Context, token, password string) error {
	u, err := a.accounts.ResetPassword(ctx, token, password)
	if err != nil {
		return err
	}
	if a.live != nil {
		a.live.Revoke(u.AppID, u.ID, 0, 0) // every stream of the user ends
	}
	return nil
}
