package sign

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestArgv(t *testing.T) {
	c := &Command{Path: "/bin/cosign", Args: []string{"sign", "--yes", "--annotations", "ref=${artifact}", Placeholder}}
	got := c.Argv("reg.test/app@sha256:abc")
	want := []string{"/bin/cosign", "sign", "--yes", "--annotations", "ref=reg.test/app@sha256:abc", "reg.test/app@sha256:abc"}
	if !slices.Equal(got, want) {
		t.Errorf("Argv = %q, want %q", got, want)
	}
}

// A failing signer's error keeps the end of what it printed, capped, on
// one line.
func TestSignFailureKeepsTheTail(t *testing.T) {
	c, err := Find("sh", []string{"-c", `i=0; while [ $i -lt 500 ]; do echo "line $i of noise"; i=$((i+1)); done; echo "Error: the key is wrong" >&2; exit 3`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Sign(context.Background(), "reg.test/app@sha256:abc")
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v, want an *Error", err)
	}
	if se.Artifact != "reg.test/app@sha256:abc" || !strings.HasSuffix(se.Output, "Error: the key is wrong") || len(se.Output) > MaxOutput+3 {
		t.Errorf("artifact %q, output (%d bytes) %q", se.Artifact, len(se.Output), se.Output)
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("error %q: want one line with the exit status", err)
	}
}

func TestFindMissing(t *testing.T) {
	if _, err := Find("no-such-signer-program", nil, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find = %v, want ErrNotFound", err)
	}
}
