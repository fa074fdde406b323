package httpapi

import (
	"net/http"
	"slices"
)

// routeMux is a ServeMux that remembers its patterns, so docs/api.md can be
// checked against what is served.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func newRouteMux() *routeMux { return &routeMux{ServeMux: http.NewServeMux()} }

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// Routes lists the API's patterns ("METHOD /path"), sorted.
func (a *API) Routes() []string { return sorted(a.mux.patterns) }

// Routes lists the admin API's patterns, sorted.
func (ad *Admin) Routes() []string {
	m := ad.routes()
	return sorted(m.patterns)
}

func sorted(p []string) []string {
	out := slices.Clone(p)
	slices.Sort(out)
	return out
}
