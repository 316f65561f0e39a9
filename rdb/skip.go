package rdb

// This file steps over values of the types the Reader does not return,
// parsing just enough of each to find where it ends. Every loop below
// consumes at least one byte of input per iteration, so a hostile count
// ends in a truncation error rather than a long spin, and nothing is
// allocated.

// skipValue steps over a value of type t (a known type other than string).
func (r *Reader) skipValue(t byte) error {
	switch t {
	case typeList, typeSet, typeListQuicklist:
		return r.skipStrings(1)
	case typeHash:
		return r.skipStrings(2)
	case typeZset:
		return r.skipZset(false)
	case typeZset2:
		return r.skipZset(true)
	case typeModule2:
		if _, err := r.readLen(); err != nil { // module id
			return err
		}
		return r.skipModuleValue()
	case typeHashZipmap, typeListZiplist, typeSetIntset, typeZsetZiplist,
		typeHashZiplist, typeHashListpack, typeZsetListpack, typeSetListpack:
		return r.skipString()
	case typeListQuicklist2:
		return r.skipQuicklist2()
	case typeStreamListpacks, typeStreamListpacks2, typeStreamListpacks3:
		return r.skipStream(t)
	}
	return r.corrupt(r.src.offset(), "cannot skip values of type %d", t)
}

// skipStrings steps over a count followed by count×per strings.
func (r *Reader) skipStrings(per int) error {
	n, err := r.readLen()
	if err != nil {
		return err
	}
	for ; n > 0; n-- {
		for range per {
			if err := r.skipString(); err != nil {
				return err
			}
		}
	}
	return nil
}

// skipZset steps over a sorted set: a count, then members with scores,
// binary doubles (type 5) or length-prefixed text (type 3).
func (r *Reader) skipZset(binaryScores bool) error {
	n, err := r.readLen()
	if err != nil {
		return err
	}
	for ; n > 0; n-- {
		if err := r.skipString(); err != nil {
			return err
		}
		if binaryScores {
			err = r.src.skip(8)
		} else {
			err = r.skipTextScore()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// skipTextScore steps over an old-style score: a length byte, with 253,
// 254 and 255 standing for NaN, +inf and -inf without further bytes.
func (r *Reader) skipTextScore() error {
	n, err := r.src.readByte()
	if err != nil || n >= zsetScoreNaN {
		return err
	}
	return r.src.skip(int64(n))
}

// skipQuicklist2 steps over a list of type 18: a node count, then per node
// a container kind (1 plain, 2 packed) and a string.
func (r *Reader) skipQuicklist2() error {
	n, err := r.readLen()
	if err != nil {
		return err
	}
	for ; n > 0; n-- {
		at := r.src.offset()
		c, err := r.readLen()
		if err != nil {
			return err
		}
		if c != quicklistNodePlain && c != quicklistNodePacked {
			return r.corrupt(at, "unknown quicklist container %d", c)
		}
		if err := r.skipString(); err != nil {
			return err
		}
	}
	return nil
}

// skipLens steps over n lengths.
func (r *Reader) skipLens(n int) error {
	for range n {
		if _, err := r.readLen(); err != nil {
			return err
		}
	}
	return nil
}

// skipStream steps over a stream of type 15, 19 or 21.
func (r *Reader) skipStream(t byte) error {
	nodes, err := r.readLen()
	if err != nil {
		return err
	}
	for ; nodes > 0; nodes-- {
		// The node key is a 16-byte master ID, then comes the listpack.
		at := r.src.offset()
		h, err := r.stringHeader()
		if err != nil {
			return err
		}
		if (h.kind == strRaw && h.n != streamIDLen) || (h.kind == strLZF && h.ulen != streamIDLen) || h.kind == strInt {
			return r.corrupt(at, "stream node key is not a %d-byte ID", streamIDLen)
		}
		if h.kind != strInt {
			if err := r.src.skip(h.n); err != nil {
				return err
			}
		}
		if err := r.skipString(); err != nil {
			return err
		}
	}
	// Length, last ID; from type 19 on also first ID, max deleted ID and
	// entries added.
	meta := 3
	if t >= typeStreamListpacks2 {
		meta += 5
	}
	if err := r.skipLens(meta); err != nil {
		return err
	}
	groups, err := r.readLen()
	if err != nil {
		return err
	}
	for ; groups > 0; groups-- {
		if err := r.skipConsumerGroup(t); err != nil {
			return err
		}
	}
	return nil
}

// skipConsumerGroup steps over one consumer group of a stream of type t.
func (r *Reader) skipConsumerGroup(t byte) error {
	if err := r.skipString(); err != nil { // name
		return err
	}
	ids := 2 // last delivered ID
	if t >= typeStreamListpacks2 {
		ids++ // entries read
	}
	if err := r.skipLens(ids); err != nil {
		return err
	}
	pel, err := r.readLen()
	if err != nil {
		return err
	}
	for ; pel > 0; pel-- {
		// Raw ID and delivery time, then the delivery count.
		if err := r.src.skip(streamIDLen + 8); err != nil {
			return err
		}
		if _, err := r.readLen(); err != nil {
			return err
		}
	}
	consumers, err := r.readLen()
	if err != nil {
		return err
	}
	for ; consumers > 0; consumers-- {
		if err := r.skipString(); err != nil { // name
			return err
		}
		times := int64(8) // seen time
		if t >= typeStreamListpacks3 {
			times += 8 // active time
		}
		if err := r.src.skip(times); err != nil {
			return err
		}
		owned, err := r.readLen()
		if err != nil {
			return err
		}
		for ; owned > 0; owned-- {
			if err := r.src.skip(streamIDLen); err != nil {
				return err
			}
		}
	}
	return nil
}

// skipModuleAux steps over a module aux record (opcode F7): the module id,
// the "when" field as an unsigned-integer sub-opcode and value, then the
// module's data.
func (r *Reader) skipModuleAux() error {
	if _, err := r.readLen(); err != nil { // module id
		return err
	}
	at := r.src.offset()
	op, err := r.readLen()
	if err != nil {
		return err
	}
	if op != moduleOpcodeUint {
		return r.corrupt(at, "module aux record: expected the 'when' field (opcode %d), found opcode %d", moduleOpcodeUint, op)
	}
	if _, err := r.readLen(); err != nil {
		return err
	}
	return r.skipModuleValue()
}

// skipModuleValue steps over module data written in the self-describing
// format of module types v2: sub-opcode and value pairs up to an EOF
// sub-opcode.
func (r *Reader) skipModuleValue() error {
	for {
		at := r.src.offset()
		op, err := r.readLen()
		if err != nil {
			return err
		}
		switch op {
		case moduleOpcodeEOF:
			return nil
		case moduleOpcodeSint, moduleOpcodeUint:
			_, err = r.readLen()
		case moduleOpcodeFloat:
			err = r.src.skip(4)
		case moduleOpcodeDouble:
			err = r.src.skip(8)
		case moduleOpcodeString:
			err = r.skipString()
		default:
			return r.corrupt(at, "unknown module value opcode %d", op)
		}
		if err != nil {
			return err
		}
	}
}
