package spec

import (
	"github.com/manifest-push/manifest-push/internal/suggest"

	"fmt"
)

// didYouMean renders a suggestion for s among candidates, or "".
func didYouMean(s string, candidates []string, canonical map[string]string) string {
	if n := suggest.Nearest(s, candidates, canonical); n != "" && n != s {
		return fmt.Sprintf(" (did you mean %q?)", n)
	}
	return ""
}
