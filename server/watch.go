package server

import (
	"github.com/replikv/replikv"
)

// watchSet is the keys a client WATCHes, each with the version it had
// when first watched (see replikv.KeyVersion). The zero value watches
// nothing.
type watchSet struct {
	keys  map[string]replikv.KeyVersion
	bytes int64 // memory the set takes, bounded by Config.MaxQueuedBytes
}

// watchKeyCost is what a watched key costs besides its bytes: the map
// entry (key header, version) with the map's slack.
const watchKeyCost = 96

// watchCmd is WATCH key [key …]: refused inside MULTI (without aborting
// it, as in Redis); a key already watched keeps its first version.
func watchCmd(x *call) {
	if x.c.multi != nil {
		x.r.err("ERR WATCH inside MULTI is not allowed")
		return
	}
	w := &x.c.cs.watched
	for _, a := range x.args[1:] {
		if _, ok := w.keys[string(a)]; ok {
			continue
		}
		cost := int64(len(a)) + watchKeyCost
		if w.bytes+cost > x.s.cfg.MaxQueuedBytes {
			x.r.err("ERR too many watched keys: they exceed the server's limit for a transaction")
			return
		}
		if w.keys == nil {
			w.keys = make(map[string]replikv.KeyVersion)
		}
		key := string(a)
		w.keys[key] = x.s.store.KeyVersion(key)
		w.bytes += cost
	}
	x.r.ok()
}

// unwatchCmd is UNWATCH. Queued inside MULTI, it runs after EXEC has
// already let go of the watched keys, and changes nothing.
func unwatchCmd(x *call) {
	x.c.cs.watched = watchSet{}
	x.r.ok()
}

// changed reports whether a watched key changed, with tx's locks held.
func (w watchSet) changed(tx *replikv.Tx) bool {
	for k, v := range w.keys {
		if tx.Changed(k, v) {
			return true
		}
	}
	return false
}

// changedNow is changed under an AtomicKeys of the watched keys.
func (w watchSet) changedNow(store *replikv.Store) bool {
	if len(w.keys) == 0 {
		return false
	}
	keys := make([]string, 0, len(w.keys))
	for k := range w.keys {
		keys = append(keys, k)
	}
	changed := false
	store.AtomicKeys(keys, func(tx *replikv.Tx) error {
		changed = w.changed(tx)
		return nil
	})
	return changed
}
