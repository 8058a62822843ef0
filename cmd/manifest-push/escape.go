package main

import (
	"fmt"
	"strings"
	"unicode"
)

// escape makes s safe to write to a terminal: every control character (C0,
// DEL, C1 and the other Unicode format controls that reorder text) is
// written as a Go escape (\x1b, \u202e), and a backslash that could start
// one is left as it is, so that no text from a registry, a spec or an image
// can move the cursor, retitle the terminal, forge a line or break a
// table's columns (a tab). Printable text is unchanged.
func escape(s string) string {
	clean := true
	for _, r := range s {
		if needsEscape(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == unicode.ReplacementChar:
			b.WriteString(`\ufffd`)
		case !needsEscape(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar
}
