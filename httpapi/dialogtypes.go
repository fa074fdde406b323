package httpapi

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/parley-chat/parley/dialogs"
)

// Dialog type numbers on the wire: ConnectyCube's documentation numbers
// broadcast 1 and public 4, the SDK's enum the other way round. The model
// keeps the SDK's; an app created with --dialog-types docs speaks the
// documentation's, swapped here, on the way in and out.

type numberingCache struct {
	mu sync.Mutex
	m  map[int64]cachedNumbering
}

type cachedNumbering struct {
	docs  bool
	until time.Time
}

// docsNumbering reports an app numbering dialog types as the documentation
// does (read now and then: every dialog answer asks).
func (a *API) docsNumbering(app int64) bool {
	a.numbering.mu.Lock()
	defer a.numbering.mu.Unlock()
	if c, ok := a.numbering.m[app]; ok && time.Now().Before(c.until) {
		return c.docs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	docs := false
	if ap, err := a.accounts.App(ctx, app); err == nil {
		docs = ap.DialogTypes == "docs"
	}
	if a.numbering.m == nil {
		a.numbering.m = map[int64]cachedNumbering{}
	}
	a.numbering.m[app] = cachedNumbering{docs, time.Now().Add(30 * time.Second)}
	return docs
}

// swapPublic exchanges public and broadcast (1 and 4).
func swapPublic(t int64) int64 {
	switch dialogs.Type(t) {
	case dialogs.Public:
		return int64(dialogs.Broadcast)
	case dialogs.Broadcast:
		return int64(dialogs.Public)
	}
	return t
}

// wireType is the number the app sees for a model type.
func (a *API) wireType(app int64, t dialogs.Type) int64 {
	if a.docsNumbering(app) {
		return swapPublic(int64(t))
	}
	return int64(t)
}

// modelType is the model type an app's number names.
func (a *API) modelType(app, t int64) dialogs.Type {
	if a.docsNumbering(app) {
		return dialogs.Type(swapPublic(t))
	}
	return dialogs.Type(t)
}

// typeFilterValues translates the values of a filter on type.
func (a *API) typeFilterValues(app int64, vals []string) []string {
	if !a.docsNumbering(app) {
		return vals
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			v = strconv.FormatInt(swapPublic(n), 10)
		}
		out[i] = v
	}
	return out
}
