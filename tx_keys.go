package replikv

// Rename is Store.Rename inside the transaction.
func (tx *Tx) Rename(src, dst string) error {
	_, err := tx.rename(src, dst, false)
	return err
}

// RenameNX is Store.RenameNX inside the transaction.
func (tx *Tx) RenameNX(src, dst string) (bool, error) {
	return tx.rename(src, dst, true)
}

func (tx *Tx) rename(src, dst string, nx bool) (bool, error) {
	if err := tx.checkKeys(src, dst); err != nil {
		return false, err
	}
	if err := tx.s.checkSizes(dst, nil); err != nil {
		return false, err
	}
	return tx.s.renameLocked(src, dst, nx)
}

// checkKeys is checkKey for a write of several keys.
func (tx *Tx) checkKeys(keys ...string) error {
	for _, k := range keys {
		if err := tx.checkKey(k, true); err != nil {
			return err
		}
	}
	return nil
}

// Copy is Store.Copy inside the transaction.
func (tx *Tx) Copy(src, dst string, replace bool) (bool, error) {
	if err := tx.grow(); err != nil {
		return false, err
	}
	if err := tx.checkKeys(src, dst); err != nil {
		return false, err
	}
	if err := tx.s.checkSizes(dst, nil); err != nil {
		return false, err
	}
	return tx.s.copyLocked(src, dst, replace)
}

// RandomKey is Store.RandomKey inside the transaction; inside AtomicKeys
// it picks among the keys of the locked shards.
func (tx *Tx) RandomKey() (string, error) {
	if err := tx.check(false); err != nil {
		return "", err
	}
	return tx.s.randomKey(tx.shards, func(*shard) func() { return func() {} })
}

// Touch is Store.Touch inside the transaction.
func (tx *Tx) Touch(keys ...string) int {
	n := 0
	for _, k := range keys {
		if tx.lookup(k, true) {
			n++
		}
	}
	return n
}

// Dump is Store.Dump inside the transaction.
func (tx *Tx) Dump(key string) ([]byte, error) {
	v, err := tx.Get(key)
	if err != nil {
		return nil, err
	}
	return appendDump(v), nil
}

// Restore is Store.Restore inside the transaction.
func (tx *Tx) Restore(key string, payload []byte, opt RestoreOptions) error {
	if err := tx.grow(); err != nil {
		return err
	}
	if err := tx.checkKey(key, true); err != nil {
		return err
	}
	if err := checkRestoreOptions(opt); err != nil {
		return err
	}
	if err := tx.s.checkSizes(key, nil); err != nil {
		return err
	}
	v, decErr := tx.s.decodeDump(payload)
	return tx.s.restoreLocked(key, payload, v, decErr, opt)
}

// ObjectEncoding is Store.ObjectEncoding inside the transaction.
func (tx *Tx) ObjectEncoding(key string) (string, error) {
	v, err := tx.Get(key)
	if err != nil {
		return "", err
	}
	return encodingOf(v), nil
}
