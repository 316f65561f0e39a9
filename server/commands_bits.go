package server

// bitCommands are the string commands on ranges, bits and floats.
func bitCommands() []*command {
	return []*command{}
}
