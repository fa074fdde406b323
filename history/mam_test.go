package history

import "testing"

// TestShouldArchive: XEP-0313 preferences: never beats always, both beat
// the default, JIDs compare bare and without case.
func TestShouldArchive(t *testing.T) {
	const peer = "5-1@localhost"
	lists := func(def string, always, never []string) *ArchivePrefs {
		return &ArchivePrefs{Default: def, Always: always, Never: never}
	}
	for _, c := range []struct {
		name     string
		prefs    *ArchivePrefs
		peer     string
		inRoster bool
		want     bool
	}{
		{"no prefs", nil, peer, false, true},
		{"default always", lists(PrefsAlways, nil, nil), peer, false, true},
		{"default never", lists(PrefsNever, nil, nil), peer, true, false},
		{"roster, in it", lists(PrefsRoster, nil, nil), peer, true, true},
		{"roster, not in it", lists(PrefsRoster, nil, nil), peer, false, false},
		{"on always, default never", lists(PrefsNever, []string{peer}, nil), peer, false, true},
		{"on never, default always", lists(PrefsAlways, nil, []string{peer}), peer, true, false},
		{"on both lists", lists(PrefsAlways, []string{peer}, []string{peer}), peer, true, false},
		{"full JID of a listed peer", lists(PrefsAlways, nil, []string{peer}), peer + "/phone", true, false},
		{"listed full JID, another resource", lists(PrefsNever, []string{peer + "/desk"}, nil), peer + "/phone", false, true},
		{"case", lists(PrefsAlways, nil, []string{"5-1@LocalHost"}), peer, true, false},
		{"another peer", lists(PrefsAlways, nil, []string{"6-1@localhost"}), peer, true, true},
		{"a prefix is not a match", lists(PrefsAlways, nil, []string{"5-1@local"}), peer, true, true},
	} {
		if got := ShouldArchive(c.prefs, c.peer, c.inRoster); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
