package rdb

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// benchEntries is the benchmark data set: n keys of 16 bytes and values of
// 64 random (incompressible) bytes.
func benchEntries(n int) (keys []string, vals [][]byte) {
	rng := rand.New(rand.NewPCG(5, 6))
	keys = make([]string, n)
	vals = make([][]byte, n)
	block := make([]byte, 64*n)
	for i := range block {
		block[i] = byte(rng.Uint32())
	}
	for i := range n {
		k := []byte("key:0000000000000")
		for j, x := len(k)-1, i; j >= 4 && x > 0; j, x = j-1, x/10 {
			k[j] = byte('0' + x%10)
		}
		keys[i] = string(k[:16])
		vals[i] = block[64*i : 64*i+64 : 64*i+64]
	}
	return keys, vals
}

const benchN = 1_000_000

func encodeBench(tb testing.TB, w io.Writer, keys []string, vals [][]byte) int64 {
	wr, err := NewWriter(w, WriterOptions{ReplID: "0123456789012345678901234567890123456789", CTime: time.Unix(1, 0)})
	if err != nil {
		tb.Fatal(err)
	}
	if err := wr.SelectDB(0, uint64(len(keys)), 0); err != nil {
		tb.Fatal(err)
	}
	for i := range keys {
		if err := wr.WriteString(keys[i], vals[i], 0); err != nil {
			tb.Fatal(err)
		}
	}
	if err := wr.Close(); err != nil {
		tb.Fatal(err)
	}
	return wr.Written()
}

// BenchmarkEncode1M encodes 1M entries (16-byte keys, 64 random bytes
// each, compression on) to io.Discard.
func BenchmarkEncode1M(b *testing.B) {
	keys, vals := benchEntries(benchN)
	b.SetBytes(encodeBench(b, io.Discard, keys, vals))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		encodeBench(b, io.Discard, keys, vals)
	}
}

// BenchmarkDecode1M decodes the same 1M entries from memory.
func BenchmarkDecode1M(b *testing.B) {
	keys, vals := benchEntries(benchN)
	var buf bytes.Buffer
	encodeBench(b, &buf, keys, vals)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), ReaderOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchN {
			b.Fatalf("%d entries", n)
		}
	}
}

func BenchmarkCRC64(b *testing.B) {
	p := make([]byte, 1<<20)
	for i := range p {
		p[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		CRC64(0, p)
	}
}
