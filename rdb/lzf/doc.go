// Package lzf implements the LZF compression format used by Redis for
// strings inside RDB files (string encoding 0xC3).
//
// The format is a sequence of chunks, each starting with a control byte:
//
//	000LLLLL                    a literal run: the next L+1 bytes are copied as they are
//	LLLooooo oooooooo           a back-reference of L+2 bytes (L is 1 to 6)
//	111ooooo LLLLLLLL oooooooo  a back-reference of L+9 bytes
//
// A back-reference copies bytes that are already in the output, starting
// (o<<8 | next byte) + 1 bytes back; the copy may overlap the bytes it
// produces, which is how runs are encoded. The compressed stream carries
// no length: the caller stores the uncompressed length beside it, as RDB does.
//
// Compress produces output that liblzf (and so Redis) decompresses, and for
// the inputs Redis writes it reproduces liblzf's choices of matches, so that
// encodings can be compared byte for byte with captured Redis payloads.
// Decompress is fully bounds-checked and never writes or allocates more than
// the declared output length.
package lzf
