// Package wire frames and checks the XML that clients send.
//
// A Splitter finds where the next top-level unit (stream header, element,
// stream close) ends in a growing buffer, cheaply and resumably, so a stanza
// that arrives in many reads is scanned once. Parse then checks one complete
// element for well-formedness and namespace correctness before any of it is
// used or forwarded. Forwarding copies the client's bytes, so namespaces are
// never re-serialised (and never corrupted).
package wire

import (
	"bytes"
	"errors"
)

// Kind says what a unit is.
type Kind uint8

// Unit kinds.
const (
	KindElement     Kind = iota + 1 // a complete top-level element
	KindStreamOpen                  // <stream:stream ...> start tag (TCP framing)
	KindStreamClose                 // </stream:stream>
	KindSpace                       // whitespace between elements (keepalive)
)

// Errors that end the stream: the unit cannot be isolated or is refused whole.
var (
	ErrTooLarge   = errors.New("wire: element exceeds the maximum stanza size")
	ErrTooDeep    = errors.New("wire: element nesting too deep")
	ErrRestricted = errors.New("wire: comments, processing instructions and DTDs are not allowed")
	ErrSyntax     = errors.New("wire: not well-formed XML")
)

type state uint8

const (
	stTop   state = iota // between units
	stText               // element content
	stLT                 // after '<'
	stStart              // inside a start tag
	stEnd                // inside an end tag
	stBang               // after "<!", matching "[CDATA["
	stCDATA              // inside CDATA
	stDecl               // inside <?xml ... ?> before the stream header
)

// Splitter finds unit boundaries. The zero value expects elements; set
// Header to read a stream header (with an optional XML declaration) first.
type Splitter struct {
	// Header makes the next unit a stream header: the first start tag is
	// returned as KindStreamOpen without waiting for its end.
	Header bool
	// Max is the largest unit accepted, in bytes; 0 means no limit.
	Max int
	// MaxDepth bounds element nesting; 0 means 64.
	MaxDepth int

	pos    int
	st     state
	depth  int
	quote  byte
	match  int
	slash  bool
	closer bool // the current unit is a top-level end tag
}

const cdataOpen = "[CDATA["

// Reset forgets any partial unit.
func (s *Splitter) Reset() {
	h, m, d := s.Header, s.Max, s.MaxDepth
	*s = Splitter{Header: h, Max: m, MaxDepth: d}
}

// Next scans buf, which starts at a unit boundary and holds everything
// buffered so far, and returns the length of the first complete unit, or
// n == 0 when more input is needed. State is kept between calls, so a caller
// that appends to buf only pays for the new bytes.
func (s *Splitter) Next(buf []byte) (n int, kind Kind, err error) {
	maxDepth := s.MaxDepth
	if maxDepth == 0 {
		maxDepth = 64
	}
	i := s.pos
	for ; i < len(buf); i++ {
		c := buf[i]
		switch s.st {
		case stTop:
			switch c {
			case ' ', '\t', '\r', '\n':
				if i > 0 {
					continue // between an XML declaration and the header
				}
				// A run of whitespace is a unit of its own (a keepalive).
				j := 0
				for j < len(buf) && isSpace(buf[j]) {
					j++
				}
				s.Reset()
				return j, KindSpace, nil
			case '<':
				s.st = stLT
			default:
				return 0, 0, ErrSyntax
			}
		case stLT:
			switch {
			case c == '/':
				if s.depth == 0 {
					s.closer = true
				}
				s.st = stEnd
			case c == '!':
				if s.depth == 0 {
					return 0, 0, ErrRestricted
				}
				s.st, s.match = stBang, 0
			case c == '?':
				// Only the XML declaration before the stream header is allowed.
				if !s.Header || s.depth != 0 || i != 1 {
					return 0, 0, ErrRestricted
				}
				s.st = stDecl
			case isSpace(c) || c == '>' || c == '<':
				return 0, 0, ErrSyntax
			default:
				s.st, s.slash, s.quote = stStart, false, 0
			}
		case stDecl:
			if c == '>' && i > 0 && buf[i-1] == '?' {
				s.st = stTop
			}
		case stStart:
			switch {
			case s.quote != 0:
				if c == s.quote {
					s.quote = 0
				}
			case c == '"' || c == '\'':
				s.quote = c
				s.slash = false
			case c == '<':
				return 0, 0, ErrSyntax
			case c == '>':
				if s.slash {
					if s.depth == 0 {
						s.Reset()
						return s.unit(i+1, KindElement)
					}
					s.st = stText
					continue
				}
				if s.Header && s.depth == 0 {
					s.Reset()
					s.Header = false
					return s.unit(i+1, KindStreamOpen)
				}
				s.depth++
				if s.depth > maxDepth {
					return 0, 0, ErrTooDeep
				}
				s.st = stText
			case c == '/':
				s.slash = true
			case !isSpace(c):
				s.slash = false
			}
		case stEnd:
			if c == '>' {
				if s.closer {
					s.Reset()
					return s.unit(i+1, KindStreamClose)
				}
				s.depth--
				if s.depth == 0 {
					s.Reset()
					return s.unit(i+1, KindElement)
				}
				s.st = stText
			} else if c == '<' {
				return 0, 0, ErrSyntax
			}
		case stText:
			// Skip quickly to the next markup.
			j := bytes.IndexByte(buf[i:], '<')
			if j < 0 {
				i = len(buf) - 1
				continue
			}
			i += j
			s.st = stLT
		case stBang:
			if s.match < len(cdataOpen) {
				if c != cdataOpen[s.match] {
					return 0, 0, ErrRestricted
				}
				s.match++
				if s.match == len(cdataOpen) {
					s.st, s.match = stCDATA, 0
				}
			}
		case stCDATA:
			switch {
			case c == ']':
				if s.match < 2 {
					s.match++
				}
			case c == '>' && s.match == 2:
				s.st = stText
				s.match = 0
			default:
				s.match = 0
			}
		}
	}
	s.pos = i
	return s.check(i)
}

// unit returns a complete unit of n bytes, unless it is over Max: a unit
// that arrived whole in one read is held to the limit as exactly as one
// that arrived in pieces.
func (s *Splitter) unit(n int, kind Kind) (int, Kind, error) {
	if s.Max > 0 && n > s.Max {
		return 0, 0, ErrTooLarge
	}
	return n, kind, nil
}

func (s *Splitter) check(scanned int) (int, Kind, error) {
	if s.Max > 0 && scanned > s.Max {
		return 0, 0, ErrTooLarge
	}
	return 0, 0, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
