package rdb

import "encoding/binary"

// crcPoly is the CRC-64/Jones polynomial in reflected (LSB-first) form.
const crcPoly = 0x95AC9329AC4BC9B5

// crcTables holds slicing-by-16 tables: crcTables[0] is the byte-at-a-time
// table, and crcTables[k][b] is the CRC of byte b followed by k zero bytes.
var crcTables = makeCRCTables()

func makeCRCTables() *[16][256]uint64 {
	t := new([16][256]uint64)
	for i := range 256 {
		crc := uint64(i)
		for range 8 {
			if crc&1 == 1 {
				crc = crc>>1 ^ crcPoly
			} else {
				crc >>= 1
			}
		}
		t[0][i] = crc
	}
	for i := range 256 {
		crc := t[0][i]
		for k := 1; k < 16; k++ {
			crc = t[0][crc&0xff] ^ crc>>8
			t[k][i] = crc
		}
	}
	return t
}

// CRC64 returns the checksum crc updated with p, in the variant Redis uses
// for RDB files and DUMP payloads: CRC-64/Jones, reflected polynomial
// 0x95AC9329AC4BC9B5, initial value 0 and no final inversion. Start with
// crc = 0; CRC64(CRC64(0, a), b) equals CRC64(0, a+b). The check value
// CRC64(0, []byte("123456789")) is 0xe9c6d914c4b8d9ca.
//
// (hash/crc64 with the same polynomial gives different values, because it
// inverts the CRC on entry and exit; it is also slow for this polynomial.)
func CRC64(crc uint64, p []byte) uint64 {
	t := crcTables
	for len(p) >= 16 {
		a := crc ^ binary.LittleEndian.Uint64(p)
		b := binary.LittleEndian.Uint64(p[8:])
		crc = t[15][a&0xff] ^ t[14][a>>8&0xff] ^ t[13][a>>16&0xff] ^ t[12][a>>24&0xff] ^
			t[11][a>>32&0xff] ^ t[10][a>>40&0xff] ^ t[9][a>>48&0xff] ^ t[8][a>>56] ^
			t[7][b&0xff] ^ t[6][b>>8&0xff] ^ t[5][b>>16&0xff] ^ t[4][b>>24&0xff] ^
			t[3][b>>32&0xff] ^ t[2][b>>40&0xff] ^ t[1][b>>48&0xff] ^ t[0][b>>56]
		p = p[16:]
	}
	for _, c := range p {
		crc = t[0][byte(crc)^c] ^ crc>>8
	}
	return crc
}
