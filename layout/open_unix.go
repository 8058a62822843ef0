//go:build unix

package layout

import "syscall"

// openFlags are added to every open of a layout's file: an open that
// would wait (a named pipe with no writer) returns at once instead.
const openFlags = syscall.O_NONBLOCK
