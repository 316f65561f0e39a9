package replikv

// stringApplyHandlers are the apply handlers of the string commands that
// work on parts of a value (ranges, bits, floats).
func stringApplyHandlers() map[string]applyHandler {
	return map[string]applyHandler{}
}
