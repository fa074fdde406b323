package xmltext

import "testing"

func TestAppendEscaped(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{`<a href="x">&'`, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"},
		{"tab\tnl\ncr\r", "tab\tnl\ncr&#xD;"},
		{"nul\x00bel\x07", "nul\uFFFDbel\uFFFD"},
		{"nonchar\uFFFE\uFFFF", "nonchar\uFFFD\uFFFD"},
		{"surrogate\xed\xa0\x80", "surrogate\uFFFD\uFFFD\uFFFD"},
		{"bad\xff utf8", "bad\uFFFD utf8"},
		{"ok é 😀 \u0085", "ok é 😀 \u0085"},
	} {
		if got := string(AppendEscaped(nil, tc.in)); got != tc.want {
			t.Errorf("AppendEscaped(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidTextAndName(t *testing.T) {
	for _, tc := range []struct {
		s           string
		text, named bool
	}{
		{"name", true, true},
		{"a-b.c_1", true, true},
		{"1abc", true, false},
		{"x:y", true, false},
		{"é", true, false},
		{"", true, false},
		{"a\x01", false, false},
		{"a\uFFFE", false, false},
		{"a\xed\xa0\x80", false, false},
		{"tab\tok", true, false},
	} {
		if got := ValidText(tc.s); got != tc.text {
			t.Errorf("ValidText(%q) = %v", tc.s, got)
		}
		if got := ValidName(tc.s); got != tc.named {
			t.Errorf("ValidName(%q) = %v", tc.s, got)
		}
	}
}
