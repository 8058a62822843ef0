package publish

import (
	"io"
	"sync"

	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Progress reports how far Push is in bringing the blobs of one source into
// the target repository. A blob mounted from another repository, or found
// in the target already, is done at once; a blob copied from another
// registry (or uploaded because the registry would not mount it) advances
// as its bytes are streamed.
type Progress struct {
	// Source is the spec entry's image reference the blobs belong to.
	Source string
	// Digest is the blob this report is about: Bytes of its Size are done,
	// and BlobDone is set once it is in the target repository.
	Digest   digest.Digest
	Bytes    int64
	Size     int64
	BlobDone bool
	// Blobs and BytesTotal count the source's blobs known so far (they grow
	// as the source's manifests are read); BlobsDone and BytesDone what of
	// them is in the target repository.
	Blobs      int
	BlobsDone  int
	BytesTotal int64
	BytesDone  int64
	// Streamed counts the bytes of the source actually streamed into the
	// target, as opposed to mounted or skipped.
	Streamed int64
}

// progressStep is how many streamed bytes make a new report.
const progressStep = 256 << 10

// progress keeps the Progress of each source of a push and hands copies to
// the caller's function, one call at a time. A nil *progress, or one
// without a function, does nothing.
type progress struct {
	fn func(Progress)

	mu       sync.Mutex
	bySource map[string]*Progress
}

func newProgress(fn func(Progress)) *progress {
	if fn == nil {
		return nil
	}
	return &progress{fn: fn, bySource: map[string]*Progress{}}
}

// add counts blobs as part of source.
func (p *progress) add(source string, blobs []ocispec.Descriptor) {
	if p == nil || len(blobs) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.source(source)
	for _, b := range blobs {
		s.Blobs++
		s.BytesTotal += b.Size
	}
	r := *s
	r.Digest, r.Size = blobs[len(blobs)-1].Digest, blobs[len(blobs)-1].Size
	p.fn(r)
}

// done records that d is in the target repository; streamed of its bytes
// were counted already.
func (p *progress) done(source string, d ocispec.Descriptor, streamed int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.source(source)
	s.BlobsDone++
	s.BytesDone += d.Size - streamed
	r := *s
	r.Digest, r.Bytes, r.Size, r.BlobDone = d.Digest, d.Size, d.Size, true
	p.fn(r)
}

func (p *progress) source(name string) *Progress {
	s, ok := p.bySource[name]
	if !ok {
		s = &Progress{Source: name}
		p.bySource[name] = s
	}
	return s
}

// meter gives the registry.Meter of each attempt to stream d for source,
// or nil when nobody listens.
func (p *progress) meter(source string, d ocispec.Descriptor) func() registry.Meter {
	if p == nil {
		return nil
	}
	return func() registry.Meter { return &blobCounter{p: p, source: source, d: d} }
}

// blobCounter counts the bytes of one attempt to stream a blob. Its fields
// are guarded by p.mu: the HTTP transport may still read a request body
// after the request failed.
type blobCounter struct {
	p      *progress
	source string
	d      ocispec.Descriptor
	n      int64 // bytes streamed
	last   int64 // n at the last report
	closed bool
}

// Wrap wraps r so that what is read from it counts as streamed.
func (c *blobCounter) Wrap(r io.Reader) io.Reader {
	return &countingReader{r: r, c: c}
}

func (c *blobCounter) add(n int) {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.closed || n == 0 {
		return
	}
	c.n += int64(n)
	s := p.source(c.source)
	s.BytesDone += int64(n)
	s.Streamed += int64(n)
	if c.n-c.last >= progressStep {
		c.last = c.n
		r := *s
		r.Digest, r.Bytes, r.Size = c.d.Digest, c.n, c.d.Size
		p.fn(r)
	}
}

// End ends the attempt and returns the bytes it streamed. When the attempt
// failed, its bytes no longer count.
func (c *blobCounter) End(ok bool) int64 {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	c.closed = true
	if ok || c.n == 0 {
		return c.n
	}
	s := p.source(c.source)
	s.BytesDone -= c.n
	s.Streamed -= c.n
	r := *s
	r.Digest, r.Size = c.d.Digest, c.d.Size
	p.fn(r)
	return 0
}

type countingReader struct {
	r io.Reader
	c *blobCounter
}

func (r *countingReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.c.add(n)
	return n, err
}
