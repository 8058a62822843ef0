package spec

import "io"

// MaxFileSize is the largest spec file that Load reads.
const MaxFileSize = 1 << 20

// LoadOptions controls Load. The zero value is useful.
type LoadOptions struct {
	// LookupEnv resolves ${VAR} references in spec values. Nil means
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Load reads and validates one spec. name is used in error positions ("-"
// for standard input). Every problem of the file is reported, joined.
func Load(name string, r io.Reader, opts LoadOptions) (*Spec, error) {
	panic("TODO")
}

// LoadFile is Load over a file; "-" reads standard input.
func LoadFile(path string, opts LoadOptions) (*Spec, error) {
	panic("TODO")
}
