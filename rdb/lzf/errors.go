package lzf

import "errors"

// ErrCorrupt is returned (wrapped with details) by Decompress when the
// compressed data is not valid LZF or does not produce exactly the declared
// number of bytes.
var ErrCorrupt = errors.New("lzf: corrupt input")
