package resp

import (
	"slices"
	"strconv"
)

// AppendArrayLen appends an array header "*<n>\r\n" to dst.
func AppendArrayLen(dst []byte, n int) []byte {
	return appendHeader(dst, '*', int64(n))
}

// AppendBulk appends b as a bulk string "$<len>\r\n<b>\r\n" to dst.
func AppendBulk(dst, b []byte) []byte { return appendBulk(dst, b) }

// AppendBulkString appends s as a bulk string "$<len>\r\n<s>\r\n" to dst.
func AppendBulkString(dst []byte, s string) []byte { return appendBulk(dst, s) }

func appendBulk[T []byte | string](dst []byte, b T) []byte {
	dst = appendHeader(dst, '$', int64(len(b)))
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

// AppendBulkInt appends the decimal text of n as a bulk string, for example
// "$13\r\n1795237680997\r\n" for a PXAT deadline, without formatting it into
// a temporary string.
func AppendBulkInt(dst []byte, n int64) []byte {
	dst = appendHeader(dst, '$', int64(decimalLen(n)))
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

// AppendSimple appends s as a simple string "+<s>\r\n" to dst. Any CR or LF
// in s is replaced by a space, since a simple string cannot hold them.
func AppendSimple(dst []byte, s string) []byte {
	return appendLine(dst, '+', s)
}

// AppendError appends s as an error reply "-<s>\r\n" to dst. By convention s
// starts with an error code, as in "ERR unknown command" or "READONLY ...".
// Any CR or LF in s is replaced by a space.
func AppendError(dst []byte, s string) []byte {
	return appendLine(dst, '-', s)
}

// AppendInt appends n as an integer reply ":<n>\r\n" to dst.
func AppendInt(dst []byte, n int64) []byte {
	return appendHeader(dst, ':', n)
}

// AppendNull appends the null bulk string "$-1\r\n" to dst.
func AppendNull(dst []byte) []byte {
	return append(dst, "$-1\r\n"...)
}

// AppendNullArray appends the null array "*-1\r\n" to dst.
func AppendNullArray(dst []byte) []byte {
	return append(dst, "*-1\r\n"...)
}

// AppendCommand appends a command as an array of bulk strings, the form
// clients and primaries send, to dst. It grows dst at most once.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	return appendCommand(dst, args)
}

// AppendCommandString is AppendCommand for string arguments.
func AppendCommandString(dst []byte, args ...string) []byte {
	return appendCommand(dst, args)
}

func appendCommand[T []byte | string](dst []byte, args []T) []byte {
	size := ArrayHeaderLen(len(args))
	for _, a := range args {
		size += BulkLen(len(a))
	}
	dst = slices.Grow(dst, size)
	dst = AppendArrayLen(dst, len(args))
	for _, a := range args {
		dst = appendBulk(dst, a)
	}
	return dst
}

// BulkLen returns the encoded size of a bulk string of n bytes:
// len("$<n>\r\n") + n + 2.
func BulkLen(n int) int {
	return 1 + decimalLen(int64(n)) + 2 + n + 2
}

// ArrayHeaderLen returns the encoded size of the header of an array of n
// elements, len("*<n>\r\n").
func ArrayHeaderLen(n int) int {
	return 1 + decimalLen(int64(n)) + 2
}

// appendHeader appends "<t><n>\r\n".
func appendHeader(dst []byte, t byte, n int64) []byte {
	dst = append(dst, t)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

// appendLine appends "<t><s>\r\n" with CR and LF in s replaced by spaces.
func appendLine(dst []byte, t byte, s string) []byte {
	dst = append(dst, t)
	start := len(dst)
	dst = append(dst, s...)
	for i := start; i < len(dst); i++ {
		if dst[i] == '\r' || dst[i] == '\n' {
			dst[i] = ' '
		}
	}
	return append(dst, '\r', '\n')
}
