// Package xmltext is the one place that decides which text may reach an
// XML stream: the escaping every writer uses, and the checks that refuse
// input (REST fields) XML 1.0 cannot carry.
package xmltext

import "unicode/utf8"

// AppendEscaped appends s escaped for use in text or a double-quoted
// attribute value. It is the one way text reaches an XML stream: characters
// XML 1.0 does not allow (C0 controls other than tab, LF and CR, U+FFFE,
// U+FFFF, invalid UTF-8 such as lone surrogates) become U+FFFD, so whatever
// a caller passes, the output is well-formed.
func AppendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '&':
			dst = append(dst, "&amp;"...)
		case c == '<':
			dst = append(dst, "&lt;"...)
		case c == '>':
			dst = append(dst, "&gt;"...)
		case c == '"':
			dst = append(dst, "&quot;"...)
		case c == '\'':
			dst = append(dst, "&apos;"...)
		case c == '\r':
			dst = append(dst, "&#xD;"...) // kept as sent, not normalised away
		case c < 0x20 && c != '\t' && c != '\n':
			dst = append(dst, "\uFFFD"...)
		case c < utf8.RuneSelf:
			dst = append(dst, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 || !ValidChar(r) {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, s[i:i+n]...)
			}
			i += n - 1
		}
	}
	return dst
}

// ValidText reports whether s holds only characters XML 1.0 allows, in
// valid UTF-8: input that is refused rather than altered (REST fields).
func ValidText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || !ValidChar(r) {
			return false
		}
		i += n
	}
	return true
}

// ValidName reports whether s can be written as an element or attribute
// name built from user data (custom fields): ASCII letters, digits, '_',
// '-' and '.', not starting with a digit, '-' or '.'; no prefix.
func ValidName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// ValidChar reports whether r is a character XML 1.0 allows.
func ValidChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
