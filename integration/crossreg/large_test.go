package crossreg

import (
	"context"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/largecopy"
)

// maxRSSKiB bounds the command's peak memory while it copies a 64 MiB
// layer: well below the layer's size, which it would exceed if it held
// the layer in memory.
const maxRSSKiB = 48 << 10

func TestLargeLayerIsStreamed(t *testing.T) {
	if testing.Short() {
		t.Skip("copies 64 MiB")
	}
	t.Parallel()
	rep, err := largecopy.Run(context.Background(), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("copied a %.1f MiB layer across registries in %s: %.1f MiB/s, peak RSS of manifest-push %.1f MiB (VmHWM; ru_maxrss %.1f MiB, which counts this process's RSS at the command's start)",
		float64(rep.BlobSize)/(1<<20), rep.Wall, rep.BytesPerSec/(1<<20), float64(rep.PeakRSSKiB)/1024, float64(rep.RusageMaxRSSKiB)/1024)
	if rep.PeakRSSKiB == 0 || rep.PeakRSSKiB >= maxRSSKiB {
		t.Errorf("peak RSS %d KiB, want below %d KiB", rep.PeakRSSKiB, maxRSSKiB)
	}
	if rep.SourceWrites != 0 {
		t.Errorf("%d writes reached the source registry", rep.SourceWrites)
	}
	// Standard error is not a terminal here: progress comes as log lines.
	if !strings.Contains(rep.Stderr, "copied ") || strings.Contains(rep.Stderr, "\x1b[") {
		t.Errorf("progress on standard error:\n%s", rep.Stderr)
	}
}
