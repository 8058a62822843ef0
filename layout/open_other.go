//go:build !unix

package layout

// openFlags are added to every open of a layout's file; this system has no
// named pipes in a directory to wait on.
const openFlags = 0
