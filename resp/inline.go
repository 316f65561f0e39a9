package resp

// splitArgs splits an inline command line into arguments with the rules of
// Redis's sdssplitargs, appending the argument bytes to dst and their
// positions in dst to spans. On malformed input it returns the position in
// line of the problem and a message; msg is empty on success.
//
// Rules: arguments are separated by spaces (any of " \t\n\v\f\r" before an
// argument; " \n\r\t" end an unquoted one). Inside an argument, "..." quotes
// with the escapes \xHH (two hex digits), \n \r \t \b \a and \<c> for any
// other c meaning c itself, and '...' quotes with \' for a single quote.
// A closing quote must be followed by a space or the end of the line. A NUL
// byte ends the line, as the C string it is in Redis.
func splitArgs(line, dst []byte, spans []span) (_ []byte, _ []span, bad int, msg string) {
	at := func(i int) byte { // the C string view: 0 past the end
		if i < len(line) {
			return line[i]
		}
		return 0
	}
	i := 0
	for {
		for at(i) != 0 && isSpace(at(i)) {
			i++
		}
		if at(i) == 0 {
			return dst, spans, 0, ""
		}
		start := len(dst)
		var quote byte // 0, '"' or '\''
		quoteAt := 0
		for done := false; !done; i++ {
			c := at(i)
			switch {
			case quote == 0:
				switch c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
					i-- // the separator is skipped by the outer loop
				case '"', '\'':
					quote, quoteAt = c, i
				default:
					dst = append(dst, c)
				}
			case c == 0:
				return dst, spans, quoteAt, "unbalanced quotes in inline command"
			case quote == '"' && c == '\\' && at(i+1) == 'x' && isHex(at(i+2)) && isHex(at(i+3)):
				dst = append(dst, unhex(at(i+2))<<4|unhex(at(i+3)))
				i += 3
			case quote == '"' && c == '\\' && at(i+1) != 0:
				i++
				dst = append(dst, unescape(at(i)))
			case quote == '\'' && c == '\\' && at(i+1) == '\'':
				i++
				dst = append(dst, '\'')
			case c == quote:
				if next := at(i + 1); next != 0 && !isSpace(next) {
					return dst, spans, i + 1, "closing quote must be followed by a space or nothing at all"
				}
				done = true
			default:
				dst = append(dst, c)
			}
		}
		spans = append(spans, span{start, len(dst)})
	}
}

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// unescape maps the character after a backslash inside "..." to its value.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}
