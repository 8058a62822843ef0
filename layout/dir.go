package layout

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// dirFiles reads a layout that is a directory.
type dirFiles struct{ root string }

func (d dirFiles) open(name string) (io.ReadCloser, int64, error) {
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(name)))
	if err != nil {
		return nil, 0, unwrapPath(err)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, errors.Join(unwrapPath(err), f.Close())
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, errors.Join(fmt.Errorf("not a regular file"), f.Close())
	}
	return f, fi.Size(), nil
}

func (dirFiles) close() error { return nil }

// isNotExist reports whether a file of the layout is missing.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
