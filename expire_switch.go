package replikv

// SetActiveExpiry turns the active half of expiry on or off, like Redis's
// DEBUG SET-ACTIVE-EXPIRE: while it is off, the expiry loop deletes
// nothing, and an expired key is deleted only when accessed (it is hidden
// from reads all the same). It is on when the store is created (with a
// positive Config.ActiveExpiryInterval).
func (s *Store) SetActiveExpiry(on bool) { s.activeExpiryOff.Store(!on) }

// ActiveExpiry reports whether active expiry is on (see SetActiveExpiry).
func (s *Store) ActiveExpiry() bool { return !s.activeExpiryOff.Load() }
