package replikv

// keyApplyHandlers are the apply handlers of the commands that move,
// copy or restore whole keys.
func keyApplyHandlers() map[string]applyHandler {
	return map[string]applyHandler{}
}
