package bench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// TagParamReport compares the first push of one index with its extra tags
// into a registry that ignores the tag parameter (distribution as it is)
// and into one that implements it (Config.TagParam).
type TagParamReport struct {
	N, Tags int
	Delay   time.Duration
	// Plain and Tagged are the first-push rows of the two registries.
	Plain, Tagged Row
}

// TagParamTags is the number of tags of the comparison: the target's and
// three extra ones.
const TagParamTags = 4

// RunTagParam measures the first push of an index of n entries with
// TagParamTags tags, once into a registry that ignores the tag parameter
// and once into one that implements it, over plain HTTP/1.1 with cfg's
// delay and runs (its sizes, tags, peers and protocol are not used).
func RunTagParam(ctx context.Context, cfg Config, n int) (*TagParamReport, error) {
	cfg.Sizes, cfg.Tags, cfg.Peers, cfg.TLS, cfg.Token = []int{n}, TagParamTags, nil, false, false
	rep := &TagParamReport{N: n, Tags: TagParamTags, Delay: cfg.Delay}
	for _, on := range []bool{false, true} {
		c := cfg
		c.TagParam = on
		r, err := Run(ctx, c)
		if err != nil {
			return nil, err
		}
		row, ok := r.Row(n, FirstPush)
		if !ok {
			return nil, fmt.Errorf("bench: no first push measured at N=%d", n)
		}
		if on {
			rep.Tagged = row
		} else {
			rep.Plain = row
		}
	}
	return rep, nil
}

// WriteMarkdown writes the comparison as a markdown table.
func (r *TagParamReport) WriteMarkdown(w io.Writer) error {
	var err error
	printf := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	printf("### Tags in one request: first push of N=%d with %d extra tags (%v per request)\n\n", r.N, r.Tags-1, r.Delay)
	printf("| registry | wall | round trips | requests | writes | manifest PUTs | PUTs with ?tag= |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range []struct {
		name string
		row  Row
	}{{"ignores the tag parameter (distribution)", r.Plain}, {"implements it (proxy profile TagParameter)", r.Tagged}} {
		printf("| %s | %s | %.1f | %d | %d | %d | %d |\n", x.name, seconds(x.row.Wall), x.row.RoundTrips, x.row.Requests, x.row.Writes, x.row.ManifestPUTs, x.row.TaggedPUTs)
	}
	if r.Tagged.TaggedPUTs == 0 {
		printf("\nNo PUT carried the tag parameter: this binary writes every tag on its own.\n")
	}
	return err
}
