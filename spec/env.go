package spec

import (
	"github.com/manifest-push/manifest-push/internal/suggest"

	"fmt"
	"strings"
)

// expandEnv replaces ${VAR} and ${VAR:-default} in s. "$$" is a literal
// "$"; a "$" not followed by "{" or "$" is kept as it is. A default is taken
// literally (it is not expanded again) and may not contain "}". An undefined
// variable without a default is an error, as is a malformed reference.
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
			continue
		case '{':
		default:
			b.WriteByte('$')
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf(`unterminated %s: close it with "}", or write "$$" for a literal "$"`, suggest.Quote(s[i:]))
		}
		body := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(body, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf(`invalid variable reference %s: write ${NAME} or ${NAME:-default}, where NAME is letters, digits and "_" not starting with a digit (write "$$" for a literal "$")`,
				suggest.Quote("${"+body+"}"))
		}
		v, ok := lookup(name)
		switch {
		case ok:
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		default:
			return "", fmt.Errorf(`environment variable %s is not set: set it, or give a default with ${%s:-value}`, suggest.Quote(name), name)
		}
		i += 2 + end + 1
	}
	return b.String(), nil
}

func validEnvName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
