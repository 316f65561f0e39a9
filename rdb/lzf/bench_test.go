package lzf

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func randomBytes(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 8))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func textBytes(n int) []byte {
	return bytes.Repeat([]byte("replikv keeps a replicated key-value store in step; "), n/52+1)[:n]
}

// benchCompress compresses inputs of n bytes, cycling through many
// different ones made by gen so that branch prediction cannot learn one.
func benchCompress(b *testing.B, n int, gen func(int) []byte) {
	all := gen(n + 255)
	var c Compressor
	dst := make([]byte, 0, n+n/32+1)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Compress(dst, all[i:i+n], n-4)
		i = (i + 1) & 255
	}
}

func BenchmarkCompressText64K(b *testing.B)   { benchCompress(b, 64<<10, textBytes) }
func BenchmarkCompressRandom64K(b *testing.B) { benchCompress(b, 64<<10, randomBytes) }
func BenchmarkCompressRandom64(b *testing.B)  { benchCompress(b, 64, randomBytes) }
func BenchmarkCompressText64(b *testing.B)    { benchCompress(b, 64, textBytes) }

func BenchmarkDecompressText64K(b *testing.B) {
	src := textBytes(64 << 10)
	comp := Compress(nil, src, len(src))
	dst := make([]byte, 0, len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decompress(dst, comp, len(src)); err != nil {
			b.Fatal(err)
		}
	}
}
