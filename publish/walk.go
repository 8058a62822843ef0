package publish

import (
	"context"
	"errors"
	"fmt"

	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The bounds of every walk of a manifest graph (resolving an index source,
// copying, verifying, inspecting, finding referrers): at most maxDepth
// levels below where the walk starts (an index in an index is one level,
// so is a referrer of a referrer), and at most maxNodes descriptors met in
// all. A larger graph is refused.
const (
	maxDepth = 8
	maxNodes = 10000
)

var (
	// errTooDeep: the graph goes more than maxDepth levels deep.
	errTooDeep = fmt.Errorf("manifests nested more than %d deep: refused", maxDepth)
	// errTooLarge: the graph has more than maxNodes descriptors.
	errTooLarge = fmt.Errorf("a manifest graph of more than %d entries: refused", maxNodes)
)

// node is one manifest of a graph being walked.
type node struct {
	// at is where it is read from.
	at place
	// desc describes it as its parent lists it (or as the walk was asked).
	desc ocispec.Descriptor
	// depth is the number of levels below the walk's start.
	depth int
	// leaf marks a successor that counts against the bounds but is not
	// visited (an image entry of an index whose images are only listed).
	leaf bool
	// from is what the walk calls it for: the index entry it belongs to,
	// kept from parent to successor.
	from digest.Digest
}

// key identifies a node: the same manifest in the same repository.
func (n node) key() string { return n.at.String() + "@" + n.desc.Digest.String() }

// visitFunc is called once for each distinct node a walk reaches, and
// returns the node's successors (their depth and from are set by the
// walk). It may be called concurrently for the nodes of one level.
type visitFunc func(ctx context.Context, n node) ([]node, error)

// walk visits roots, then, level by level, the successors each visit
// returns: every node of a level concurrently, each distinct (repository,
// digest) once, whatever leads to it again. It stops at maxDepth levels
// (errTooDeep) and maxNodes descriptors met (errTooLarge); a visit's error
// ends the walk after the level it is in. Every visit has returned when
// walk does. It returns the nodes visited, in a stable order: level by
// level, each level in the order its parents listed it.
func walk(ctx context.Context, roots []node, visit visitFunc) ([]node, error) {
	seen := map[string]bool{}
	var level, visited []node
	for _, r := range roots {
		if !seen[r.key()] {
			seen[r.key()] = true
			if r.from == "" {
				r.from = r.desc.Digest
			}
			level = append(level, r)
		}
	}
	met := len(level)
	// Each level's documents are counted, by the sizes their parents
	// declare, before any of them is read (see maxGraphBytes): a graph of
	// many large documents is refused before it is held.
	var bytes int64
	for depth := 0; len(level) > 0; depth++ {
		for _, n := range level {
			size := n.desc.Size
			if size <= 0 || size > registry.MaxManifestSize {
				size = registry.MaxManifestSize // read at most that much, then verified
			}
			if bytes += size; bytes > maxGraphBytes {
				return visited, errTooManyBytes
			}
		}
		next := make([][]node, len(level))
		err := fanOutAll(ctx, len(level), func(ctx context.Context, i int) (err error) {
			next[i], err = visit(ctx, level[i])
			return err
		})
		visited = append(visited, level...)
		if err != nil {
			if errors.Is(err, errTooManyBytes) {
				return visited, errTooManyBytes // one cause, however many visits met it
			}
			return visited, err
		}
		parents := level
		level = nil
		for i, succ := range next {
			met += len(succ)
			if met > maxNodes {
				return visited, errTooLarge
			}
			for _, s := range succ {
				s.depth, s.from = depth+1, parents[i].from
				if s.leaf || seen[s.key()] {
					continue
				}
				if s.depth > maxDepth {
					return visited, fmt.Errorf("%s: %w", s.desc.Digest, errTooDeep)
				}
				seen[s.key()] = true
				level = append(level, s)
			}
		}
	}
	return visited, nil
}
