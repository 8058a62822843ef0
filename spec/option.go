package spec

// Option is a choice of a run that a message may name: a field of Spec,
// of Request, of Args or of publish.Options. The library calls it by that field
// (String); a caller with names of its own for them (the CLI: its flags)
// gives them as Names. So an error can say what to change without the
// library knowing the command line.
type Option int

// Options that messages name.
const (
	// OptionType is the index type: Spec.Type, or publish.Options.Type
	// over it.
	OptionType Option = iota + 1
	// OptionAppend makes the push an update of what the target tag holds
	// (Request.Append).
	OptionAppend
	// OptionRemove are the platforms an update leaves out (Request.Remove).
	OptionRemove
	// OptionSelect are the platforms chosen among those the sources give
	// (Request.Select).
	OptionSelect
	// OptionSourcePlatforms are the platforms of sources given without one
	// (Args.SourcePlatforms).
	OptionSourcePlatforms
	// OptionStrictPlatform makes platform warnings errors
	// (publish.Options.StrictPlatform).
	OptionStrictPlatform
	// OptionRequire are the platforms of the completeness gate
	// (Request.Require).
	OptionRequire
	// OptionStagingTag is the gate's staging tag (Request.StagingTag).
	OptionStagingTag
	// OptionByDigest pushes by digest and moves no tag
	// (Request.ByDigest).
	OptionByDigest
	// OptionCreated is the time an OCI index records as created
	// (publish.Options.Created; the CLI reads SOURCE_DATE_EPOCH).
	OptionCreated
)

// String is the field that holds o, as the library's messages name it.
func (o Option) String() string {
	switch o {
	case OptionType:
		return "Type"
	case OptionAppend:
		return "Request.Append"
	case OptionRemove:
		return "Request.Remove"
	case OptionSelect:
		return "Request.Select"
	case OptionSourcePlatforms:
		return "Args.SourcePlatforms"
	case OptionStrictPlatform:
		return "Options.StrictPlatform"
	case OptionRequire:
		return "Request.Require"
	case OptionStagingTag:
		return "Request.StagingTag"
	case OptionByDigest:
		return "Request.ByDigest"
	case OptionCreated:
		return "Options.Created"
	}
	return "an option"
}

// Names are what a caller calls the options in messages (the CLI: its
// flags, such as "--append"). An Option not in it is called by its field
// (Option.String); nil Names call every option so.
type Names map[Option]string

// Of is what n calls o.
func (n Names) Of(o Option) string {
	if name, ok := n[o]; ok {
		return name
	}
	return o.String()
}
