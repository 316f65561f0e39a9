package lzf

import (
	"bytes"
	"testing"
)

// refDecompress is a plain byte-at-a-time decoder of the format, used to
// check Decompress.
func refDecompress(src []byte, outLen int) ([]byte, bool) {
	var out []byte
	for i := 0; i < len(src); {
		ctrl := int(src[i])
		i++
		if ctrl < 32 {
			if i+ctrl+1 > len(src) {
				return nil, false
			}
			out = append(out, src[i:i+ctrl+1]...)
			i += ctrl + 1
			continue
		}
		n := ctrl >> 5
		if n == 7 {
			if i >= len(src) {
				return nil, false
			}
			n += int(src[i])
			i++
		}
		if i >= len(src) {
			return nil, false
		}
		ref := len(out) - (ctrl&0x1f)<<8 - int(src[i]) - 1
		i++
		if ref < 0 {
			return nil, false
		}
		for k := 0; k < n+2; k++ {
			out = append(out, out[ref+k])
		}
		if len(out) > outLen {
			return nil, false
		}
	}
	return out, len(out) == outLen
}

func FuzzLZFDecompress(f *testing.F) {
	for _, s := range redisSamples {
		f.Add(mustHex(f, s.comp), uint16(len(s.plain)))
	}
	f.Add([]byte{0x00, 'a', 0xe0, 0xff, 0x00}, uint16(258))
	f.Fuzz(func(t *testing.T, src []byte, outLen uint16) {
		got, err := Decompress(nil, src, int(outLen))
		want, ok := refDecompress(src, int(outLen))
		if ok != (err == nil) || (ok && !bytes.Equal(got, want)) || (!ok && got != nil) {
			t.Fatalf("Decompress: %x, %v; reference: %x, %v", got, err, want, ok)
		}
		if err == nil && cap(got) != int(outLen) {
			t.Fatalf("allocated %d bytes for %d", cap(got), outLen)
		}
	})
}

func FuzzLZFRoundTrip(f *testing.F) {
	for _, in := range testInputs() {
		if len(in) < 3000 {
			f.Add(in, uint16(4))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, saving uint16) {
		var c Compressor
		worst := len(src) + (len(src)+31)/32
		full := c.Compress(nil, src, worst)
		if len(src) > 0 && full == nil {
			t.Fatalf("no output within the worst-case size %d", worst)
		}
		if len(src) == 0 {
			return
		}
		got, err := Decompress(nil, full, len(src))
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("round trip: %v", err)
		}
		// With a limit: the same output if it fits, nil if not.
		limit := len(src) - int(saving)
		out := c.Compress(nil, src, limit)
		if (len(full) <= limit) != (out != nil) || (out != nil && !bytes.Equal(out, full)) {
			t.Fatalf("limit %d: got %d bytes (nil=%v), unlimited gave %d", limit, len(out), out == nil, len(full))
		}
	})
}
