package resp

import (
	"bytes"
	"strconv"
	"strings"
)

// Kind is the type of a reply Value.
type Kind uint8

// The kinds of RESP2 replies. The zero Kind is not a valid reply.
const (
	KindSimpleString Kind = iota + 1 // "+OK\r\n"
	KindError                        // "-ERR message\r\n"
	KindInteger                      // ":42\r\n"
	KindBulk                         // "$3\r\nfoo\r\n", or "$-1\r\n" (Null)
	KindArray                        // "*2\r\n...", or "*-1\r\n" (Null)
)

// String returns the kind's name, such as "bulk".
func (k Kind) String() string {
	switch k {
	case KindSimpleString:
		return "simple string"
	case KindError:
		return "error"
	case KindInteger:
		return "integer"
	case KindBulk:
		return "bulk"
	case KindArray:
		return "array"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one reply read by ReadReply. Its slices are its own copies.
type Value struct {
	Kind  Kind
	Str   []byte  // the text of a simple string, error or bulk string
	Int   int64   // the value of an integer
	Array []Value // the elements of an array
	Null  bool    // a null bulk string ("$-1") or null array ("*-1")
}

// String renders v on one line for messages and tests: simple strings as
// +OK, errors as -ERR msg, integers as :42, bulk strings quoted as by
// strconv.Quote, arrays as [a, b], and null values as (nil).
func (v Value) String() string {
	var b strings.Builder
	v.format(&b)
	return b.String()
}

func (v Value) format(b *strings.Builder) {
	switch {
	case v.Null:
		b.WriteString("(nil)")
	case v.Kind == KindSimpleString:
		b.WriteByte('+')
		b.Write(v.Str)
	case v.Kind == KindError:
		b.WriteByte('-')
		b.Write(v.Str)
	case v.Kind == KindInteger:
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(v.Int, 10))
	case v.Kind == KindBulk:
		b.WriteString(strconv.Quote(string(v.Str)))
	case v.Kind == KindArray:
		b.WriteByte('[')
		for i, e := range v.Array {
			if i > 0 {
				b.WriteString(", ")
			}
			e.format(b)
		}
		b.WriteByte(']')
	default:
		b.WriteString(v.Kind.String())
	}
}

// ReadReply reads one reply (what a server sends back to a client) and
// returns it as a Value holding its own copies of the data. Arrays may nest
// at most MaxReplyDepth deep; bulk strings, arrays and simple strings are
// bounded by Limits. Lengths and integers follow the strict rules of
// ReadCommand, with -1 allowed for null bulk strings and arrays.
//
// It returns io.EOF only at a clean end of the stream between replies.
// Nothing is consumed until the whole reply has been read, so an error from
// the underlying reader (a deadline, say) can be retried.
func (r *Reader) ReadReply() (Value, error) {
	if err := r.begin(); err != nil {
		return Value{}, err
	}
	v, end, err := r.readValue(0, 0)
	if err != nil {
		return Value{}, err
	}
	r.consume(end)
	return v, nil
}

// readValue reads the reply starting at relative position pos, nested
// inside depth arrays, and returns it with the position after it.
func (r *Reader) readValue(pos, depth int) (Value, int, error) {
	if err := r.need(pos + 1); err != nil {
		return Value{}, 0, r.ioErr(err, "a reply")
	}
	t := r.buf[r.r+pos]
	var kind Kind
	switch t {
	case '+':
		kind = KindSimpleString
	case '-':
		kind = KindError
	case ':':
		kind = KindInteger
	case '$':
		kind = KindBulk
	case '*':
		kind = KindArray
	default:
		return Value{}, 0, r.protocol(pos, "unknown reply type %q", t)
	}
	lf, err := r.findLF(pos, r.lim.MaxInlineLen+1)
	if err != nil {
		return Value{}, 0, r.failLine(err, pos, kind.String()+" line")
	}
	if lf-pos < 2 || r.buf[r.r+lf-1] != '\r' {
		return Value{}, 0, r.protocol(pos, "%s line not terminated by CRLF", kind)
	}
	body := r.buf[r.r+pos+1 : r.r+lf-1]
	next := lf + 1
	if kind == KindSimpleString || kind == KindError {
		if len(body) > r.lim.MaxInlineLen {
			return Value{}, 0, r.tooLarge(pos, "%s longer than %d bytes", kind, r.lim.MaxInlineLen)
		}
		if i := bytes.IndexByte(body, '\r'); i >= 0 {
			return Value{}, 0, r.protocol(pos+1+i, "CR inside the %s line", kind)
		}
		return Value{Kind: kind, Str: append([]byte{}, body...)}, next, nil
	}
	n, ok := parseInt(body)
	if !ok || (kind != KindInteger && n < -1) {
		what := "integer"
		if kind != KindInteger {
			what = kind.String() + " length"
		}
		return Value{}, 0, r.protocol(pos, "invalid %s %q", what, body)
	}
	switch {
	case kind == KindInteger:
		return Value{Kind: kind, Int: n}, next, nil
	case n == -1:
		return Value{Kind: kind, Null: true}, next, nil
	case kind == KindBulk:
		return r.readBulkValue(pos, next, n)
	}
	return r.readArrayValue(pos, next, n, depth)
}

// readBulkValue reads the n bytes of a bulk string reply whose header at pos
// ends before next.
func (r *Reader) readBulkValue(pos, next int, n int64) (Value, int, error) {
	end, err := r.readBulkData(pos, next, n)
	if err != nil {
		return Value{}, 0, err
	}
	return Value{Kind: KindBulk, Str: append([]byte{}, r.buf[r.r+next:r.r+end]...)}, end + 2, nil
}

// readArrayValue reads the n elements of an array reply whose header at pos
// ends before next. The element slice grows as elements arrive.
func (r *Reader) readArrayValue(pos, next int, n int64, depth int) (Value, int, error) {
	if n > r.lim.MaxArrayLen {
		return Value{}, 0, r.tooLarge(pos, "array length %d exceeds the limit of %d", n, r.lim.MaxArrayLen)
	}
	if depth >= MaxReplyDepth {
		return Value{}, 0, r.tooLarge(pos, "arrays nested more than %d deep", MaxReplyDepth)
	}
	elems := make([]Value, 0, min(n, 16))
	for range n {
		e, end, err := r.readValue(next, depth+1)
		if err != nil {
			return Value{}, 0, err
		}
		elems = append(elems, e)
		next = end
	}
	return Value{Kind: KindArray, Array: elems}, next, nil
}
