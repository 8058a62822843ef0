package spec

// Option is a choice of a run that a message may name: a field of Spec, of
// Args or of publish.Options. The library calls it by that field
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
	// (Spec.Append).
	OptionAppend
	// OptionRemove are the platforms an update leaves out (Spec.Remove).
	OptionRemove
	// OptionSelect are the platforms chosen among those the sources give
	// (Spec.Select).
	OptionSelect
	// OptionSourcePlatforms are the platforms of sources given without one
	// (Args.SourcePlatforms).
	OptionSourcePlatforms
	// OptionStrictPlatform makes platform warnings errors
	// (publish.Options.StrictPlatform).
	OptionStrictPlatform
	// OptionRequire are the platforms of the completeness gate
	// (Spec.Require).
	OptionRequire
	// OptionStagingTag is the gate's staging tag (Spec.StagingTag).
	OptionStagingTag
	// OptionByDigest pushes by digest and moves no tag
	// (publish.Options.ByDigest).
	OptionByDigest
)

// String is the field that holds o, as the library's messages name it.
func (o Option) String() string {
	switch o {
	case OptionType:
		return "Type"
	case OptionAppend:
		return "Spec.Append"
	case OptionRemove:
		return "Spec.Remove"
	case OptionSelect:
		return "Spec.Select"
	case OptionSourcePlatforms:
		return "Args.SourcePlatforms"
	case OptionStrictPlatform:
		return "Options.StrictPlatform"
	case OptionRequire:
		return "Spec.Require"
	case OptionStagingTag:
		return "Spec.StagingTag"
	case OptionByDigest:
		return "Options.ByDigest"
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
