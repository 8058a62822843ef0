package publish

import (
	"context"
	"fmt"

	"github.com/distribution/reference"

	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/registry"
)

// ChangeKind, Change and their kinds are the planner's (plan.Changes).
type (
	ChangeKind = plan.ChangeKind
	Change     = plan.Change
)

// Change kinds reported in Change.Change.
const (
	ChangeAdded   = plan.ChangeAdded
	ChangeUpdated = plan.ChangeUpdated
	ChangeRemoved = plan.ChangeRemoved
)

// currentSource is what the target tag holds now, as a plan source for an
// update (plan.Input.Current): an index with its entries (nested indexes
// flattened) and its annotations, or a single image with its config's
// platform (describe).
func (rd *reader) currentSource(ctx context.Context, target reference.Named, doc registry.Document) (*plan.Source, error) {
	src := &plan.Source{Ref: target}
	if err := rd.describe(ctx, rd.at(registry.RepoOf(target)), doc, src); err != nil {
		return nil, fmt.Errorf("%s@%s: %w", registry.RepoOf(target), doc.Desc.Digest, err)
	}
	return src, nil
}
