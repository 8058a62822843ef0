// Package layout reads OCI image layouts, as builders write them (docker
// buildx --output type=oci, ko, rules_oci, kaniko --oci-layout-path, apko,
// oras): a directory holding oci-layout, index.json and blobs/ALG/HEX, or a
// tar archive of one, read in place (never extracted). It resolves a tag or
// a digest to a manifest or an index, reads documents and blobs verified
// against their digests, and streams large blobs. It never writes to the
// layout: every file is opened read-only. It touches no network.
package layout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/manifest-push/manifest-push/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Annotations by which a layout's index.json names its images.
const (
	// AnnotationRefName is the OCI annotation holding an image's tag in a
	// layout (or, as some tools write it, a whole NAME:TAG reference).
	AnnotationRefName = ocispec.AnnotationRefName
	// AnnotationImageName is containerd's annotation holding the image's
	// whole NAME:TAG reference, as docker buildx writes it.
	AnnotationImageName = "io.containerd.image.name"
)

// maxLayoutFile caps the oci-layout file read.
const maxLayoutFile = 64 << 10

// maxListed caps the images an error message lists; the rest are counted.
const maxListed = 10

// Layout is an open OCI image layout. Its methods may be called
// concurrently. Close releases it.
type Layout struct {
	// path is the layout as the caller named it, for messages.
	path  string
	files files
	index ocispec.Index
}

// files is how a layout's files are read: from a directory or from a tar
// archive. name is a slash-separated path inside the layout.
type files interface {
	// open opens a file of the layout and tells its size; a missing file is
	// an error wrapping fs.ErrNotExist.
	open(name string) (io.ReadCloser, int64, error)
	close() error
}

// Open opens the OCI image layout at path: a directory, or a tar archive of
// one (entries may start with "./"). It reads and checks oci-layout and
// index.json. A missing path, an unreadable one or one that is not a layout
// is an error wrapping ErrInvalid that names the file; so is a named pipe,
// a device or a symbolic link among the layout's files, refused without
// waiting on it (a symbolic link as path itself is followed: the caller
// named it). Open stops, with ctx's error, when ctx ends.
func Open(ctx context.Context, path string) (*Layout, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", path, ErrInvalid, unwrapPath(err))
	}
	var fs files
	switch {
	case fi.IsDir():
		if fs, err = openDir(path); err != nil {
			return nil, err
		}
	case fi.Mode().IsRegular():
		if fs, err = openTar(ctx, path); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: %w: %s, neither a directory nor a tar archive", path, ErrInvalid, kind(fi.Mode()))
	}
	l := &Layout{path: path, files: fs}
	if err := l.load(ctx); err != nil {
		return nil, errors.Join(err, l.Close())
	}
	return l, nil
}

// unwrapPath drops the operation and path that an *fs.PathError repeats.
func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return pe.Err
	}
	return err
}

// Close releases the layout's open files.
func (l *Layout) Close() error { return l.files.close() }

// Path is the layout's path as given to Open.
func (l *Layout) Path() string { return l.path }

// load reads and checks oci-layout and index.json.
func (l *Layout) load(ctx context.Context) error {
	data, err := l.readFile(ocispec.ImageLayoutFile, maxLayoutFile)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", l.name(ocispec.ImageLayoutFile), ErrInvalid, err)
	}
	var lf ocispec.ImageLayout
	if err := json.Unmarshal(data, &lf); err != nil {
		return fmt.Errorf("%s: %w: not JSON: %w", l.name(ocispec.ImageLayoutFile), ErrInvalid, err)
	}
	if major, _, _ := strings.Cut(lf.Version, "."); major != "1" {
		return fmt.Errorf("%s: %w: imageLayoutVersion %q; only version 1 (%s) is known", l.name(ocispec.ImageLayoutFile), ErrInvalid, lf.Version, ocispec.ImageLayoutVersion)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err = l.readFile(ocispec.ImageIndexFile, content.MaxManifestSize)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", l.name(ocispec.ImageIndexFile), ErrInvalid, err)
	}
	if err := json.Unmarshal(data, &l.index); err != nil {
		return fmt.Errorf("%s: %w: not an OCI index: %w", l.name(ocispec.ImageIndexFile), ErrInvalid, err)
	}
	if l.index.SchemaVersion != 2 {
		return fmt.Errorf("%s: %w: schemaVersion %d, not 2", l.name(ocispec.ImageIndexFile), ErrInvalid, l.index.SchemaVersion)
	}
	for _, d := range l.index.Manifests {
		if err := d.Digest.Validate(); err != nil {
			return fmt.Errorf("%s: %w: entry %q: %w", l.name(ocispec.ImageIndexFile), ErrInvalid, d.Digest, err)
		}
	}
	return nil
}

// name names a file of the layout in messages: the directory's path joined
// with it, or ARCHIVE!NAME for a file inside a tar archive.
func (l *Layout) name(file string) string {
	if _, ok := l.files.(*dirFiles); ok {
		return strings.TrimSuffix(l.path, "/") + "/" + file
	}
	return l.path + "!" + file
}

// readFile reads a whole small file of the layout, at most limit bytes.
func (l *Layout) readFile(name string, limit int64) (_ []byte, err error) {
	r, size, err := l.files.open(name)
	if err != nil {
		return nil, err
	}
	defer closeInto(r, &err)
	if size > limit {
		return nil, fmt.Errorf("%d bytes, more than the %d read", size, limit)
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("more than the %d bytes read", limit)
	}
	return data, nil
}

// closeInto closes c and reports its error in *err when there is none yet.
func closeInto(c io.Closer, err *error) {
	if cerr := c.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

// blobName is the file of blob d inside the layout.
func blobName(d digest.Digest) string {
	return "blobs/" + d.Algorithm().String() + "/" + d.Encoded()
}

// Resolve finds the manifest or index that ref names in the layout and
// reads it, verified. ref is empty (the layout's only image or index), a
// tag (matched against each index.json entry's org.opencontainers.image.ref.name
// annotation, which may hold the tag or a whole NAME:TAG reference, and the
// tag of its io.containerd.image.name annotation), or a digest (an entry of
// index.json, or any manifest among the layout's blobs). An empty ref when
// the layout holds more than one image is ErrAmbiguous; a tag or digest the
// layout does not hold wraps content.ErrNotFound. Both name the layout and
// list what it holds.
func (l *Layout) Resolve(ctx context.Context, ref string) (content.Document, error) {
	if err := ctx.Err(); err != nil {
		return content.Document{}, err
	}
	index := l.name(ocispec.ImageIndexFile)
	if ref == "" {
		switch len(l.index.Manifests) {
		case 0:
			return content.Document{}, fmt.Errorf("%s: holds no image: %w", index, content.ErrNotFound)
		case 1:
			return l.readEntry(ctx, l.index.Manifests[0])
		default:
			return content.Document{}, fmt.Errorf("%s: %w: holds %d images, name one with oci-layout:PATH:TAG or oci-layout:PATH@DIGEST; it holds %s",
				index, ErrAmbiguous, len(l.index.Manifests), l.holds())
		}
	}
	if d, err := digest.Parse(ref); err == nil {
		for _, e := range l.index.Manifests {
			if e.Digest == d {
				return l.readEntry(ctx, e)
			}
		}
		doc, err := l.ReadManifest(ctx, d)
		if errors.Is(err, content.ErrNotFound) {
			return content.Document{}, fmt.Errorf("%s: no manifest %s; it holds %s: %w", index, d, l.holds(), content.ErrNotFound)
		}
		return doc, err
	}
	var found []ocispec.Descriptor
	for _, e := range l.index.Manifests {
		if tagMatches(e.Annotations, ref) {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 0:
		return content.Document{}, fmt.Errorf("%s: no image tagged %q; it holds %s: %w", index, ref, l.holds(), content.ErrNotFound)
	case 1:
		return l.readEntry(ctx, found[0])
	}
	for _, e := range found[1:] {
		if e.Digest != found[0].Digest {
			return content.Document{}, fmt.Errorf("%s: %w: %d images are tagged %q: %s; name one by digest (oci-layout:PATH@DIGEST)",
				index, ErrAmbiguous, len(found), ref, list(found))
		}
	}
	return l.readEntry(ctx, found[0])
}

// tagMatches reports whether an index.json entry with annotations a is
// tagged tag: its ref.name is tag, or a NAME:TAG reference of that tag, or
// its io.containerd.image.name is one; a whole NAME:TAG given as tag
// matches either annotation holding exactly it.
func tagMatches(a map[string]string, tag string) bool {
	name, image := a[AnnotationRefName], a[AnnotationImageName]
	return name == tag || refTag(name) == tag || image == tag || refTag(image) == tag
}

// refTag is the tag of a NAME:TAG reference ("" when it has none): what
// follows the last ":" after the last "/".
func refTag(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ""
	}
	return ref[i+1:]
}

// holds lists the layout's images for messages.
func (l *Layout) holds() string {
	if len(l.index.Manifests) == 0 {
		return "no image"
	}
	return list(l.index.Manifests)
}

// list names descriptors for messages: each digest with its tag (its
// ref.name annotation, else its io.containerd.image.name), at most
// maxListed of them.
func list(ds []ocispec.Descriptor) string {
	var names []string
	for i, d := range ds {
		if i == maxListed {
			names = append(names, fmt.Sprintf("and %d more", len(ds)-maxListed))
			break
		}
		tag := d.Annotations[AnnotationRefName]
		if tag == "" {
			tag = d.Annotations[AnnotationImageName]
		}
		if tag == "" {
			tag = "no tag"
		} else {
			tag = fmt.Sprintf("%s %q", AnnotationRefName, tag)
		}
		names = append(names, fmt.Sprintf("%s (%s, %s)", d.Digest, d.MediaType, tag))
	}
	return strings.Join(names, ", ")
}

// readEntry reads the document an index.json entry names, checking that it
// is what the entry says.
func (l *Layout) readEntry(ctx context.Context, d ocispec.Descriptor) (content.Document, error) {
	doc, err := l.ReadManifest(ctx, d.Digest)
	if err != nil {
		return content.Document{}, err
	}
	if d.Size != 0 && d.Size != doc.Desc.Size {
		return content.Document{}, damaged(fmt.Errorf("%s: index.json says %d bytes, the file has %d: %w", l.name(blobName(d.Digest)), d.Size, doc.Desc.Size, content.ErrDigestMismatch))
	}
	return doc, nil
}

// ReadManifest reads the manifest or index of digest d from the layout's
// blobs, at most content.MaxManifestSize bytes, verified against d. A
// blob the layout lacks wraps content.ErrNotFound; content that does not
// match d wraps content.ErrDigestMismatch; both name the file.
func (l *Layout) ReadManifest(ctx context.Context, d digest.Digest) (content.Document, error) {
	if err := ctx.Err(); err != nil {
		return content.Document{}, err
	}
	if err := d.Validate(); err != nil {
		return content.Document{}, fmt.Errorf("%s: %w", l.path, err)
	}
	name := l.name(blobName(d))
	data, err := l.readFile(blobName(d), content.MaxManifestSize)
	if err != nil {
		return content.Document{}, l.blobError(name, err)
	}
	if got := d.Algorithm().FromBytes(data); got != d {
		return content.Document{}, damaged(fmt.Errorf("%s: content has digest %s: %w", name, got, content.ErrDigestMismatch))
	}
	mt, err := content.MediaTypeOf(data)
	if err != nil {
		return content.Document{}, fmt.Errorf("%s: %w", name, err)
	}
	return content.Document{Desc: ocispec.Descriptor{MediaType: mt, Digest: d, Size: int64(len(data))}, Data: data}, nil
}

// blobError names the file a blob read failed on; a missing one wraps
// content.ErrNotFound.
func (l *Layout) blobError(name string, err error) error {
	if isNotExist(err) {
		return fmt.Errorf("%s: no such blob in the layout: %w", name, content.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// ReadBlob reads a small blob (a config) of the layout, verified against d;
// one larger than limit bytes is refused unread.
func (l *Layout) ReadBlob(ctx context.Context, d ocispec.Descriptor, limit int64) (_ []byte, err error) {
	if d.Size > limit {
		return nil, fmt.Errorf("%s: blob of %d bytes, more than the %d read into memory", l.name(blobName(d.Digest)), d.Size, limit)
	}
	r, err := l.OpenBlob(ctx, d)
	if err != nil {
		return nil, err
	}
	defer closeInto(r, &err)
	return io.ReadAll(r)
}

// OpenBlob opens blob d of the layout for streaming. A file whose size is
// not d's is refused at once; the stream fails at its end, with an error
// wrapping content.ErrDigestMismatch and naming the file, when the bytes do
// not have d's digest.
func (l *Layout) OpenBlob(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", l.path, err)
	}
	name := l.name(blobName(d.Digest))
	r, size, err := l.files.open(blobName(d.Digest))
	if err != nil {
		return nil, l.blobError(name, err)
	}
	if size != d.Size {
		return nil, errors.Join(damaged(fmt.Errorf("%s: %d bytes, the descriptor says %d: %w", name, size, d.Size, content.ErrDigestMismatch)), r.Close())
	}
	return &verifiedFile{r: content.VerifyingReader(r, d), c: r, name: name}, nil
}

// verifiedFile is a blob stream that names its file in a mismatch error.
type verifiedFile struct {
	r    io.Reader
	c    io.Closer
	name string
}

func (v *verifiedFile) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	switch {
	case errors.Is(err, content.ErrDigestMismatch):
		err = damaged(fmt.Errorf("%s: %w", v.name, err))
	case err != nil && err != io.EOF:
		err = fmt.Errorf("%s: %w", v.name, err)
	}
	return n, err
}

// VerifyBlob reads blob d of the layout through and checks it against d's
// digest and size, holding nothing in memory: what a caller does for every
// blob before its first write, so that a damaged layout fails before
// anything is written.
func (l *Layout) VerifyBlob(ctx context.Context, d ocispec.Descriptor) (err error) {
	r, err := l.OpenBlob(ctx, d)
	if err != nil {
		return err
	}
	defer closeInto(r, &err)
	_, err = io.Copy(io.Discard, contextReader{ctx: ctx, r: r})
	return err
}

// contextReader stops a long read when ctx ends.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (v *verifiedFile) Close() error { return v.c.Close() }
