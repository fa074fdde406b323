package httpapi

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/xmltext"
)

// Whatever a client sends over REST may reach XMPP streams (message text,
// custom fields, names), and a character XML 1.0 forbids there breaks every
// standard client's parser. One policy for every field of every route: such
// a request is refused with 422, nothing is stripped.

// badXMLChars reports the first character XML cannot carry in a request
// body that is JSON or form-encoded; 0 and false when there is none.
// Other bodies (file uploads) are not text and are not checked.
func badXMLChars(r *http.Request, body []byte) (rune, bool) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		return badFormChars(string(body))
	case "", "application/json", "text/plain":
		if r.Method == http.MethodDelete && ct == "" && len(body) > 0 && body[0] != '{' && body[0] != '[' {
			return badFormChars(string(body)) // the SDK's DELETE parameters
		}
		return badJSONChars(body)
	}
	return 0, false
}

func badFormChars(body string) (rune, bool) {
	v, err := url.ParseQuery(body)
	if err != nil {
		return 0, false // refused as malformed by the handler
	}
	for k, vs := range v {
		if r, bad := badText(k); bad {
			return r, true
		}
		for _, s := range vs {
			if r, bad := badText(s); bad {
				return r, true
			}
		}
	}
	return 0, false
}

func badText(s string) (rune, bool) {
	if xmltext.ValidText(s) {
		return 0, false
	}
	for _, r := range s {
		if !xmltext.ValidChar(r) || r == utf8.RuneError {
			return r, true
		}
	}
	return utf8.RuneError, true
}

// badJSONChars scans JSON text without decoding it: raw bytes and \u
// escapes in strings (keys too), surrogate pairs joined.
func badJSONChars(b []byte) (rune, bool) {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '\\' && i+1 < len(b):
			if b[i+1] != 'u' {
				i++
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok {
				return 0, false // not JSON: the decoder refuses it
			}
			i += 5
			if utf16.IsSurrogate(r) {
				if i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if r2, ok := hex4(b, i+3); ok {
						if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
							i += 6
							continue
						}
					}
				}
				return r, true // a lone surrogate
			}
			if !xmltext.ValidChar(r) {
				return r, true
			}
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(b[i:])
			if r != utf8.RuneError && !xmltext.ValidChar(r) {
				return r, true // U+FFFE, U+FFFF; invalid UTF-8 is replaced by the decoder
			}
			i += n - 1
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			return rune(c), true
		}
	}
	return 0, false
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func xmlCharError(r rune) map[string][]string {
	return map[string][]string{"base": {fmt.Sprintf("the request contains the character U+%04X, which XML (and so chat messages) cannot carry; remove control characters and non-characters from text fields", r)}}
}
