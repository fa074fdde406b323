package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/push"
)

// ConnectyCube's device subscription endpoints, so a push gateway behind
// the webhook knows where to send.

func (a *API) routesPush() {
	a.mux.HandleFunc("POST /subscriptions.json", a.user(a.subscribe))
	a.mux.HandleFunc("GET /subscriptions.json", a.user(a.subscriptions))
	a.mux.HandleFunc("DELETE /subscriptions/{id}", a.user(a.unsubscribe))
}

func subscriptionOut(s *push.Subscription) map[string]any {
	return map[string]any{"subscription": map[string]any{
		"id":                   s.ID,
		"notification_channel": map[string]string{"name": s.Channel},
		"device":               map[string]any{"udid": s.DeviceUDID, "platform": map[string]string{"name": s.Platform}},
	}}
}

func (a *API) subscribe(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	var req struct {
		Channel string `json:"notification_channel"`
		Token   struct {
			Environment string `json:"environment"`
			Token       string `json:"client_identification_sequence"`
			Bundle      string `json:"bundle_identifier"`
		} `json:"push_token"`
		Device struct {
			Platform string `json:"platform"`
			UDID     string `json:"udid"`
		} `json:"device"`
	}
	if err := decodeJSON(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	sub := &push.Subscription{AppID: s.AppID, UserID: s.UserID, Channel: req.Channel, Platform: req.Device.Platform,
		DeviceUDID: req.Device.UDID, Token: req.Token.Token, Environment: req.Token.Environment, BundleID: req.Token.Bundle}
	if err := a.push.Subscribe(r.Context(), sub); err != nil {
		if errors.Is(err, push.ErrInvalid) {
			writeError(w, http.StatusUnprocessableEntity, map[string][]string{"base": {"notification_channel (apns, apns_voip, gcm, fcm or web), push_token.client_identification_sequence and device.udid are required"}})
			return
		}
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, []any{subscriptionOut(sub)})
}

func (a *API) subscriptions(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	subs, err := a.push.List(r.Context(), s.AppID, s.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]any, 0, len(subs))
	for i := range subs {
		out = append(out, subscriptionOut(&subs[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) unsubscribe(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	id, err := strconv.ParseInt(pathValue(r, "id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return
	}
	if err := a.push.Unsubscribe(r.Context(), s.AppID, s.UserID, id); err != nil {
		if errors.Is(err, push.ErrNotFound) {
			writeError(w, http.StatusNotFound, []string{"Resource not found"})
			return
		}
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
