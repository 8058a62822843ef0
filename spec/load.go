package spec

import (
	"github.com/manifest-push/manifest-push/internal/suggest"

	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/distribution/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.yaml.in/yaml/v3"

	"github.com/manifest-push/manifest-push/platform"
)

// MaxFileSize is the largest spec file that Load reads.
const MaxFileSize = 1 << 20

// LoadOptions controls Load. The zero value is useful.
type LoadOptions struct {
	// LookupEnv resolves ${VAR} references in spec values. Nil means
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Dir is the directory that a relative oci-layout:PATH source is taken
	// from. Empty means the directory of the spec file (Load's name), or
	// the working directory for standard input ("-").
	Dir string
}

// Load reads and validates one spec. name is used in error positions ("-"
// for standard input). Every problem of the file is reported, joined.
//
// The format is manifest-tool's YAML, read strictly: unknown and duplicate
// keys, null values and list items, anchors and aliases, a second document,
// an empty file, a file over MaxFileSize and invalid UTF-8 are errors.
// Scalar values (never keys) may use ${VAR} and ${VAR:-default}; "$$" is a
// literal "$".
//
// The error, when not nil, is an errors.Join of *Error values sorted by
// position; each wraps ErrInvalidSpec.
func Load(name string, r io.Reader, opts LoadOptions) (*Spec, error) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	l := &loader{file: name, lookup: lookup, dir: opts.Dir}
	if l.dir == "" && name != "-" {
		l.dir = filepath.Dir(name)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, l.join(&Error{Pos: Pos{File: name}, Msg: fmt.Sprintf("cannot read the spec: %v", unwrapPath(err)), Err: err})
	}
	if len(data) > MaxFileSize {
		return nil, l.join(&Error{Pos: Pos{File: name}, Msg: fmt.Sprintf("the file is larger than %d bytes (1 MiB), the limit for a spec: is it the right file?", MaxFileSize)})
	}
	s := l.load(data)
	if len(l.errs) > 0 {
		return nil, l.join(l.errs...)
	}
	return s, nil
}

// LoadFile is Load over a file; "-" reads standard input.
func LoadFile(path string, opts LoadOptions) (*Spec, error) {
	if path == "-" {
		return Load(path, os.Stdin, opts)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Join(&Error{Pos: Pos{File: path}, Msg: fmt.Sprintf("cannot open the spec: %v", unwrapPath(err)), Err: err})
	}
	defer f.Close()
	return Load(path, f, opts)
}

// unwrapPath drops the path from an *os.PathError (the position names it).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Keys of the spec, in the order messages list them.
var (
	topKeys      = []string{"image", "tags", "type", "annotations", "artifactType", "subject", "manifests", "mirrors", "sign"}
	entryKeys    = []string{"image", "platform", "annotations"}
	platformKeys = []string{"os", "architecture", "variant", "os.version", "os.features", "features"}
	// platformAliases are manifest-tool's spellings.
	platformAliases = map[string]string{"osversion": "os.version", "osfeatures": "os.features"}
)

// examples show the expected shape of each key's value in messages.
var examples = map[string]string{
	"image":        "e.g. image: registry.example.com/hello:1.0",
	"tags":         `e.g. tags: ["1.0", latest]`,
	"mirrors":      `e.g. mirrors: [ghcr.io/example/hello:1.0]`,
	"sign":         `e.g. sign: {args: [sign, --yes, --key, cosign.key, "${artifact}"]}`,
	"artifactType": "e.g. artifactType: application/vnd.example.package.v1+tar",
	"subject":      "e.g. subject: registry.example.com/hello:1.0",
	"cmd":          "e.g. cmd: cosign",
	"args":         `e.g. args: [sign, --yes, "${artifact}"]`,
	"artifacts":    "all (the index and every child) or index",
	"type":         "one of auto, oci, docker",
	"annotations":  "e.g. annotations: {org.opencontainers.image.source: https://example.com/hello}",
	"manifests":    "e.g. manifests: [{image: hello:1.0-linux-amd64, platform: {os: linux, architecture: amd64}}]",
	"platform":     "e.g. platform: {os: linux, architecture: arm64}",
	"os":           "e.g. os: linux",
	"architecture": "e.g. architecture: arm64",
	"variant":      "e.g. variant: v7",
	"os.version":   "e.g. os.version: 10.0.17763.6189",
	"os.features":  "e.g. os.features: [win32k]",
	"features":     "e.g. features: [sse4]",
}

// loader holds the state of one Load: the file name and the errors found.
type loader struct {
	file   string
	dir    string
	lookup func(string) (string, bool)
	errs   []*Error
}

func (l *loader) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: l.file}
	}
	return Pos{File: l.file, Line: n.Line, Col: n.Column}
}

func (l *loader) errorf(n *yaml.Node, err error, format string, args ...any) {
	l.errs = append(l.errs, &Error{Pos: l.pos(n), Msg: fmt.Sprintf(format, args...), Err: err})
}

// MaxErrors is how many errors Load reports for one file; past it, one
// last error says how many more there were.
const MaxErrors = 100

// join sorts errs by position and joins them, MaxErrors at most.
func (l *loader) join(errs ...*Error) error {
	slices.SortStableFunc(errs, func(a, b *Error) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
	all := make([]error, 0, min(len(errs), MaxErrors+1))
	for _, e := range errs[:min(len(errs), MaxErrors)] {
		all = append(all, e)
	}
	if more := len(errs) - MaxErrors; more > 0 {
		all = append(all, &Error{Pos: Pos{File: l.file}, Msg: fmt.Sprintf("%d more errors not shown: fix the ones above first", more)})
	}
	return errors.Join(all...)
}

func (l *loader) load(data []byte) *Spec {
	if !l.checkText(data) {
		return nil
	}
	doc, ok := l.parse(data)
	if !ok {
		return nil
	}
	root := doc.Content[0]
	s := &Spec{Name: l.file}
	if !l.ok(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		l.errorf(root, nil, "a spec is a mapping with the keys %s; got %s", strings.Join(topKeys, ", "), kindName(root))
		return nil
	}
	f, suggested := l.fields(root, topKeys, nil, "")

	if v, ok := f["type"]; ok {
		if t, ok := l.str(v, "type"); ok {
			if typ, err := ParseType(t); err != nil {
				l.errorf(v.val, nil, "%v", err)
			} else {
				s.Type = typ
			}
		}
	}

	if v, ok := f["image"]; ok {
		if img, ok := l.str(v, "image"); ok {
			if t, err := parseTarget(img); err != nil {
				l.errorf(v.val, nil, "%v", err)
			} else {
				s.Target = t
			}
		}
	} else if !suggested["image"] {
		l.errorf(root, nil, `missing key "image": add the target reference, %s`, examples["image"])
	}

	if v, ok := f["tags"]; ok {
		if tags, nodes, ok := l.strList(v, "tags"); ok {
			s.Tags = l.tags(tags, nodes, s.Target)
		}
	}

	if v, ok := f["annotations"]; ok {
		s.Annotations = l.annotations(v, s.Type)
	}

	if v, ok := f["mirrors"]; ok {
		if refs, nodes, ok := l.strList(v, "mirrors"); ok {
			for i, ref := range refs {
				m, err := ParseMirror(ref, s.Target)
				if err != nil {
					l.errorf(nodes[i], nil, "mirrors: %v", err)
					continue
				}
				s.Mirrors = append(s.Mirrors, m)
			}
		}
	}

	if v, ok := f["artifactType"]; ok {
		if t, ok := l.str(v, "artifactType"); ok {
			if err := CheckArtifactType(t); err != nil {
				l.errorf(v.val, nil, "artifactType: %v", err)
			} else if err := CheckArtifact(s.Type, "type"); err != nil {
				l.errorf(v.key, nil, "artifactType: %v", err)
			} else {
				s.ArtifactType = t
			}
		}
	}
	if v, ok := f["subject"]; ok {
		if ref, ok := l.str(v, "subject"); ok {
			if sub, err := ParseSubject(ref); err != nil {
				l.errorf(v.val, nil, "%v", err)
			} else if err := CheckArtifact(s.Type, "type"); err != nil {
				l.errorf(v.key, nil, "subject: %v", err)
			} else {
				s.Subject = sub
			}
		}
	}
	if v, ok := f["sign"]; ok {
		s.Sign = l.signing(v)
	}

	if v, ok := f["manifests"]; ok {
		s.Manifests = l.manifests(v, s.Type)
	} else if !suggested["manifests"] {
		l.errorf(root, nil, `missing key "manifests": list the source image of each platform, %s`, examples["manifests"])
	}
	return s
}

// checkText rejects invalid UTF-8 and characters that YAML does not allow,
// at their position.
func (l *loader) checkText(data []byte) bool {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			msg := fmt.Sprintf("invalid UTF-8 (byte 0x%02x): save the file as UTF-8", data[i])
			if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
				msg = "the file is UTF-16: save it as UTF-8"
			}
			l.errs = append(l.errs, &Error{Pos: Pos{File: l.file, Line: line, Col: col}, Msg: msg})
			return false
		case r == '\n':
			line, col = line+1, 0
		case r == '\t' || r == '\r' || r == 0xFEFF:
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0 && r != 0x85) || r == 0xFFFE || r == 0xFFFF:
			l.errs = append(l.errs, &Error{Pos: Pos{File: l.file, Line: line, Col: col},
				Msg: fmt.Sprintf("control character %U is not allowed in YAML: remove it", r)})
			return false
		}
		i += size
		col++
	}
	return true
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse decodes the single YAML document of data. It reports syntax errors,
// an empty file and a second document.
func (l *loader) parse(data []byte) (doc *yaml.Node, ok bool) {
	defer func() {
		// The YAML parser is third-party code; a panic in it is a bad
		// spec, not a crash of the caller.
		if r := recover(); r != nil {
			l.errorf(nil, nil, "the YAML parser failed (%v): check the file's syntax", r)
			doc, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first yaml.Node
	if err := dec.Decode(&first); err != nil {
		if errors.Is(err, io.EOF) {
			l.errs = append(l.errs, &Error{Pos: Pos{File: l.file, Line: 1, Col: 1},
				Msg: fmt.Sprintf(`the spec is empty: it needs at least the keys "image" and "manifests", %s`, examples["manifests"])})
			return nil, false
		}
		l.syntaxError(data, err)
		return nil, false
	}
	if len(first.Content) == 0 || (first.Content[0].Kind == yaml.ScalarNode && first.Content[0].Tag == "!!null" && first.Content[0].Value == "") {
		l.errs = append(l.errs, &Error{Pos: Pos{File: l.file, Line: 1, Col: 1},
			Msg: fmt.Sprintf(`the spec is empty: it needs at least the keys "image" and "manifests", %s`, examples["manifests"])})
		return nil, false
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case errors.Is(err, io.EOF):
	case err != nil:
		l.syntaxError(data, err)
	default:
		l.errorf(&second, nil, `a second YAML document starts here: a spec file holds one document; remove this "---" and what follows, or move it to its own file`)
	}
	return &first, true
}

// syntaxError reports a YAML parser error at its line.
func (l *loader) syntaxError(data []byte, err error) {
	msg := err.Error()
	pos := Pos{File: l.file}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	where, hint := "", "check the indentation and quoting here and on the line before"
	if parserProblem(msg) {
		// yaml.v3 reports a parser error at the 0-based line of the block
		// it was parsing, not at the problem.
		pos.Line++
		where, hint = " in the block that starts here", "check the indentation and quoting of its lines"
	}
	if strings.Contains(msg, "cannot start any token") {
		if line := tabIndentedLine(data); line > 0 {
			pos.Line = line
			hint = "YAML is indented with spaces, not tabs"
		}
	}
	if pos.Line == 0 {
		hint = "check the indentation and quoting"
	}
	l.errs = append(l.errs, &Error{Pos: pos, Msg: fmt.Sprintf("invalid YAML%s (%s): %s", where, msg, hint)})
}

// parserProblem reports whether msg is one of yaml.v3's parser (rather than
// scanner) problems.
func parserProblem(msg string) bool {
	switch msg {
	case "did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"did not find expected <document start>",
		"did not find expected <stream-start>",
		"did not find expected '-' indicator",
		"did not find expected key",
		"did not find expected node content",
		"found duplicate %YAML directive",
		"found duplicate %TAG directive",
		"found incompatible YAML document",
		"found undefined tag handle":
		return true
	}
	return false
}

// tabIndentedLine returns the first line whose indentation holds a tab, or 0.
func tabIndentedLine(data []byte) int {
	for i, line := range bytes.Split(data, []byte("\n")) {
		indent := line[:len(line)-len(bytes.TrimLeft(line, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 && len(indent) < len(line) {
			return i + 1
		}
	}
	return 0
}

// ok reports problems of n that apply wherever it occurs: aliases, anchors
// and explicit tags other than !!str, !!map and !!seq.
func (l *loader) ok(n *yaml.Node) bool {
	switch {
	case n.Kind == yaml.AliasNode:
		l.errorf(n, nil, "YAML aliases (*%s) are not supported: write the value out", n.Value)
		return false
	case n.Anchor != "":
		l.errorf(n, nil, "YAML anchors (&%s) are not supported: write the value out where it is used", n.Anchor)
		return false
	case n.Style&yaml.TaggedStyle != 0 && n.Tag != "!!str" && n.Tag != "!!map" && n.Tag != "!!seq":
		l.errorf(n, nil, "YAML tag %s is not supported here: remove it", suggest.Quote(n.Tag))
		return false
	}
	return true
}

// field is a key and its value in a mapping.
type field struct {
	key, val *yaml.Node
	name     string // the canonical key name
}

// fields checks the keys of mapping n against known (and aliases, alias →
// canonical) and returns the fields by canonical name. where names the
// mapping in messages ("" for the top level). It also returns the keys that
// an unknown key was suggested to be, so that a misspelt key is not reported
// missing as well.
func (l *loader) fields(n *yaml.Node, known []string, aliases map[string]string, where string) (map[string]field, map[string]bool) {
	out := make(map[string]field, len(n.Content)/2)
	suggested := map[string]bool{}
	candidates := known
	if aliases != nil {
		candidates = append(slices.Clone(known), slices.Sorted(maps.Keys(aliases))...)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !l.ok(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, nil, "a key must be a plain string; got %s", kindName(k))
			continue
		}
		if k.Tag == "!!merge" || k.Value == "<<" {
			l.errorf(k, nil, "YAML merge keys (<<) are not supported: write the keys out")
			continue
		}
		name := k.Value
		if c, ok := aliases[name]; ok {
			name = c
		}
		if !slices.Contains(known, name) {
			hint := ""
			if near := suggest.Nearest(k.Value, candidates, aliases); near != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", near)
				suggested[near] = true
			}
			if where == " in a manifests entry" && slices.Contains(platformKeys, name) {
				hint = ` (it belongs under "platform:")`
			}
			l.errorf(k, nil, "unknown key %s%s%s; known keys: %s", suggest.Quote(k.Value), where, hint, strings.Join(known, ", "))
			continue
		}
		if prev, dup := out[name]; dup {
			if prev.key.Value == k.Value {
				l.errorf(k, nil, "duplicate key %s%s (first at %s): remove one of them", suggest.Quote(k.Value), where, at(prev.key, k))
			} else {
				l.errorf(k, nil, "%s and %s are the same key (first at %s): keep only %q", suggest.Quote(k.Value), suggest.Quote(prev.key.Value), at(prev.key, k), name)
			}
			continue
		}
		out[name] = field{key: k, val: v, name: name}
	}
	return out, suggested
}

// at names the position of first for a message about n: its line, and its
// column when both are on one line.
func at(first, n *yaml.Node) string {
	if first.Line == n.Line {
		return fmt.Sprintf("line %d, column %d", first.Line, first.Column)
	}
	return fmt.Sprintf("line %d", first.Line)
}

// isNull reports whether n is a YAML null (empty, ~ or null).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// value checks the value of f: not an alias or anchor, not null, of kind.
func (l *loader) value(f field, kind yaml.Kind, shape string) bool {
	if !l.ok(f.val) {
		return false
	}
	if isNull(f.val) {
		l.errorf(f.val, nil, "%s has no value: give %s (%s), or remove the key", suggest.Quote(f.key.Value), shape, examples[f.name])
		return false
	}
	if f.val.Kind != kind {
		l.errorf(f.val, nil, "%s must be %s (%s); got %s", suggest.Quote(f.key.Value), shape, examples[f.name], kindName(f.val))
		return false
	}
	return true
}

// scalar expands the environment variables of scalar n.
func (l *loader) scalar(n *yaml.Node) (string, bool) {
	v, err := expandEnv(n.Value, l.lookup)
	if err != nil {
		l.errorf(n, nil, "%v", err)
		return "", false
	}
	return v, true
}

// str returns the string value of f, expanded; an empty one is an error.
func (l *loader) str(f field, what string) (string, bool) {
	if !l.value(f, yaml.ScalarNode, "a string") {
		return "", false
	}
	s, ok := l.scalar(f.val)
	if !ok {
		return "", false
	}
	if s == "" {
		l.errorf(f.val, nil, "%s is empty: give a value (%s), or remove the key", suggest.Quote(f.key.Value), examples[what])
		return "", false
	}
	return s, true
}

// strList returns the expanded strings of list f and their nodes.
func (l *loader) strList(f field, what string) ([]string, []*yaml.Node, bool) {
	if !l.value(f, yaml.SequenceNode, "a list of strings") {
		return nil, nil, false
	}
	var out []string
	var nodes []*yaml.Node
	good := true
	for _, item := range f.val.Content {
		if !l.ok(item) {
			good = false
			continue
		}
		if isNull(item) {
			l.errorf(item, nil, "empty item in %s: remove the lone \"-\" or give it a value", suggest.Quote(f.key.Value))
			good = false
			continue
		}
		if item.Kind != yaml.ScalarNode {
			l.errorf(item, nil, "each item of %s must be a string (%s); got %s", suggest.Quote(f.key.Value), examples[what], kindName(item))
			good = false
			continue
		}
		s, ok := l.scalar(item)
		if !ok {
			good = false
			continue
		}
		if s == "" {
			l.errorf(item, nil, "empty string in %s: remove it", suggest.Quote(f.key.Value))
			good = false
			continue
		}
		out = append(out, s)
		nodes = append(nodes, item)
	}
	return out, nodes, good
}

// annotations reads an annotations mapping. typ is the spec's type: docker
// cannot carry annotations.
func (l *loader) annotations(f field, typ IndexType) map[string]string {
	if !l.value(f, yaml.MappingNode, "a mapping of strings") {
		return nil
	}
	if err := CheckAnnotations(typ, "type"); err != nil {
		l.errorf(f.key, nil, "%v", err)
	}
	out := make(map[string]string, len(f.val.Content)/2)
	first := make(map[string]*yaml.Node, len(f.val.Content)/2)
	for i := 0; i+1 < len(f.val.Content); i += 2 {
		k, v := f.val.Content[i], f.val.Content[i+1]
		if !l.ok(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			l.errorf(k, nil, "an annotation key must be a string; got %s", kindName(k))
			continue
		}
		if k.Value == "" {
			l.errorf(k, nil, "empty annotation key: give a name such as org.opencontainers.image.source")
			continue
		}
		if prev, dup := first[k.Value]; dup {
			l.errorf(k, nil, "duplicate annotation %s (first at %s): remove one of them", suggest.Quote(k.Value), at(prev, k))
			continue
		}
		first[k.Value] = k
		if !l.ok(v) {
			continue
		}
		if isNull(v) {
			l.errorf(v, nil, `annotation %s has no value: give one (use "" for an empty string), or remove it`, suggest.Quote(k.Value))
			continue
		}
		if v.Kind != yaml.ScalarNode {
			l.errorf(v, nil, "annotation %s must be a string; got %s", suggest.Quote(k.Value), kindName(v))
			continue
		}
		s, ok := l.scalar(v)
		if !ok {
			continue
		}
		out[k.Value] = s
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// tags validates the extra tags against the target, dropping duplicates
// and the target's own tag.
func (l *loader) tags(tags []string, nodes []*yaml.Node, target reference.NamedTagged) []string {
	var out []string
	seen := make(map[string]bool, len(tags)+1)
	if target != nil {
		seen[target.Tag()] = true
	}
	for i, t := range tags {
		if err := checkTag(t); err != nil {
			l.errorf(nodes[i], nil, "%v", err)
			continue
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// entrySeen is an entry with a full platform, for duplicate detection.
type entrySeen struct {
	line int
	img  string
}

func (l *loader) manifests(f field, typ IndexType) []Entry {
	if !l.value(f, yaml.SequenceNode, "a list") {
		return nil
	}
	if len(f.val.Content) == 0 {
		l.errorf(f.val, nil, `"manifests" is empty: list at least one source image, %s`, examples["manifests"])
		return nil
	}
	var out []Entry
	seen := map[string]entrySeen{}
	for _, item := range f.val.Content {
		if !l.ok(item) {
			continue
		}
		if isNull(item) {
			l.errorf(item, nil, `empty item in "manifests": remove the lone "-" or give it image and platform`)
			continue
		}
		if item.Kind != yaml.MappingNode {
			l.errorf(item, nil, `each item of "manifests" must be a mapping with image and platform (%s); got %s`, examples["manifests"], kindName(item))
			continue
		}
		e, platNode, platOK := l.entry(item, typ)
		if p := e.Platform; platOK && p != nil && p.OS != "" && p.Architecture != "" && !configMayTell(*p) {
			key := platform.DuplicateKey(*p, e.Features)
			if prev, dup := seen[key]; dup {
				l.errorf(platNode, ErrDuplicatePlatform, "platform %s is also given at line %d (%s): an index holds each platform once; remove one entry or correct its platform",
					platform.Format(*p), prev.line, prev.img)
			} else {
				img := "no valid image"
				if e.Image != nil || e.Layout != nil {
					img = e.Source()
				}
				seen[key] = entrySeen{line: platNode.Line, img: img}
			}
		}
		out = append(out, e)
	}
	return out
}

// configMayTell reports whether the image config may still tell two entries
// with platform p apart, by filling a field the spec leaves empty (rule P3):
// the os.version of a Windows image, the variant of a 32-bit ARM image. Such
// duplicates are left to the check made once the configs are read.
func configMayTell(p ocispec.Platform) bool {
	return (p.OS == "windows" && p.OSVersion == "") || (p.Architecture == "arm" && p.Variant == "")
}

// entry reads one manifests item. It returns the platform's node for
// positions, and whether the platform was read without errors.
func (l *loader) entry(n *yaml.Node, typ IndexType) (Entry, *yaml.Node, bool) {
	e := Entry{Pos: l.pos(n)}
	platOK := false
	f, _ := l.fields(n, entryKeys, nil, " in a manifests entry")
	if v, ok := f["image"]; ok {
		if img, ok := l.str(v, "image"); ok {
			if IsLayout(img) {
				if ref, err := ParseLayoutRef(img, l.dir); err != nil {
					l.errorf(v.val, nil, "%v", err)
				} else {
					e.Layout = ref
				}
			} else if ref, err := parseSource(img); err != nil {
				l.errorf(v.val, nil, "%v", err)
			} else {
				e.Image = ref
			}
		}
	} else {
		l.errorf(n, nil, `missing key "image" in this manifests entry: add the source reference, e.g. image: registry.example.com/hello:1.0-linux-amd64`)
	}
	var platNode *yaml.Node
	if v, ok := f["platform"]; ok {
		platNode = v.key
		if l.value(v, yaml.MappingNode, "a mapping") {
			before := len(l.errs)
			e.Platform, e.Features = l.platform(v)
			platOK = len(l.errs) == before
		}
	}
	if v, ok := f["annotations"]; ok {
		e.Annotations = l.annotations(v, typ)
	}
	return e, platNode, platOK
}

// platform reads a platform mapping and normalises it.
func (l *loader) platform(f field) (*ocispec.Platform, []string) {
	n := f.val
	pf, _ := l.fields(n, platformKeys, platformAliases, " in a platform")
	if len(n.Content) == 0 {
		l.errorf(n, nil, "the platform is empty: give at least os and architecture (%s), or remove the key to take the platform from the image config", examples["platform"])
		return nil, nil
	}
	var p ocispec.Platform
	var features []string
	get := func(name string) (string, *yaml.Node) {
		if v, ok := pf[name]; ok {
			if s, ok := l.str(v, name); ok {
				return s, v.val
			}
		}
		return "", nil
	}
	osName, osNode := get("os")
	arch, archNode := get("architecture")
	variant, variantNode := get("variant")
	p.OSVersion, _ = get("os.version")
	if osNode != nil {
		if norm, err := platform.NormalizeOS(osName); err != nil {
			l.errorf(osNode, err, "%v", err)
		} else {
			p.OS = norm
		}
	}
	switch {
	case archNode != nil:
		if a, v, err := platform.NormalizeArch(arch, variant); err != nil {
			at := archNode
			if errors.Is(err, platform.ErrInvalid) && variantNode != nil {
				at = variantNode
			}
			l.errorf(at, err, "%v", err)
		} else {
			p.Architecture, p.Variant = a, v
		}
	case variantNode != nil:
		l.errorf(variantNode, platform.ErrInvalid, "variant %s without an architecture: give the architecture too (%s)", suggest.Quote(variant), examples["architecture"])
	}
	if v, ok := pf["os.features"]; ok {
		if list, nodes, ok := l.strList(v, "os.features"); ok {
			for i, s := range list {
				if _, err := platform.Normalize(ocispec.Platform{OSFeatures: []string{s}}); err != nil {
					l.errorf(nodes[i], err, "%v", err)
				}
			}
			p.OSFeatures = list
		}
	}
	if v, ok := pf["features"]; ok {
		if list, _, ok := l.strList(v, "features"); ok {
			features = list
		}
	}
	if p.OSVersion != "" {
		if _, err := platform.Normalize(ocispec.Platform{OSVersion: p.OSVersion}); err != nil {
			l.errorf(pf["os.version"].val, err, "%v", err)
		}
	}
	return &p, features
}

// kindName names the kind of n for messages.
func kindName(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	case isNull(n):
		return "null"
	case n.Kind == yaml.ScalarNode:
		return "a string"
	}
	return "nothing"
}

// parseTarget parses and normalises the target reference: a missing tag is
// "latest" and a digest is an error.
func parseTarget(s string) (reference.NamedTagged, error) {
	ref, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, fmt.Errorf("invalid target reference %s (%v): write [HOST[:PORT]/]NAME[:TAG]", suggest.Quote(s), err)
	}
	if d, ok := ref.(reference.Digested); ok {
		return nil, fmt.Errorf("the target %s has a digest (%s): a target is pushed by tag; replace the digest with a tag, e.g. %s:1.0",
			reference.FamiliarName(ref), "@"+d.Digest().String(), reference.FamiliarName(ref))
	}
	t, ok := reference.TagNameOnly(ref).(reference.NamedTagged)
	if !ok {
		return nil, fmt.Errorf("invalid target reference %s: write [HOST[:PORT]/]NAME[:TAG]", suggest.Quote(s))
	}
	return t, nil
}

// parseSource parses and normalises a source reference: by tag (a missing
// one is "latest") or by digest.
func parseSource(s string) (reference.Named, error) {
	ref, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %s (%v): write [HOST[:PORT]/]NAME[:TAG|@DIGEST]", suggest.Quote(s), err)
	}
	return reference.TagNameOnly(ref), nil
}

// checkTag validates an extra tag.
func checkTag(t string) error {
	if _, err := reference.WithTag(dummyName, t); err != nil {
		return fmt.Errorf("invalid tag %s: a tag is up to 128 letters, digits, \"_\", \".\" and \"-\", not starting with \".\" or \"-\"", suggest.Quote(t))
	}
	return nil
}

// dummyName is a valid name to validate tags with.
var dummyName = func() reference.Named {
	n, err := reference.WithName("docker.io/library/x")
	if err != nil {
		panic(err)
	}
	return n
}()
