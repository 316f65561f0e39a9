package server

// matchGlob reports whether s matches the Redis glob-style pattern pat,
// as KEYS, SCAN MATCH and CONFIG GET use it:
//
//   - any run of bytes, the empty one included
//     ?       any one byte
//     [abc]   one of the bytes listed; [^abc] one byte not listed
//     [a-z]   one byte in the range (a reversed range [z-a] works too)
//     \x      the byte x itself, inside or outside brackets
//
// Like Redis, a bracket left open runs to the end of the pattern, a
// trailing backslash stands for itself, and only the empty pattern
// matches the empty string. Bytes compare as unsigned values.
//
// Every element but * matches exactly one byte, so the match only ever
// needs to resume from the latest *: it runs in O(len(pat)·len(s)) time at
// worst, without recursion.
func matchGlob(pat []byte, s string) bool {
	if len(s) == 0 {
		// Redis matches nothing against the empty string but the empty
		// pattern; KEYS * and SCAN MATCH * take a shortcut that lists it.
		return len(pat) == 0
	}
	p, i := 0, 0
	star, starI := -1, 0 // pattern position after the latest *, and where its run ends in s
	for p < len(pat) || i < len(s) {
		if p < len(pat) && pat[p] == '*' {
			for p < len(pat) && pat[p] == '*' {
				p++
			}
			if p == len(pat) {
				return true
			}
			star, starI = p, i
			continue
		}
		if p < len(pat) && i < len(s) {
			if next, ok := matchOne(pat, p, s[i]); ok {
				p, i = next, i+1
				continue
			}
		}
		if star < 0 || starI >= len(s) {
			return false
		}
		starI++ // let the latest * take one more byte
		p, i = star, starI
	}
	return true
}

// matchOne matches the pattern element at pat[p] (anything but *) against
// the byte ch. It returns the position of the next element and whether ch
// matched; the position does not depend on ch.
func matchOne(pat []byte, p int, ch byte) (int, bool) {
	switch pat[p] {
	case '?':
		return p + 1, true
	case '\\':
		if p+1 < len(pat) {
			return p + 2, pat[p+1] == ch
		}
		return p + 1, ch == '\\'
	case '[':
		return matchClass(pat, p+1, ch)
	}
	return p + 1, pat[p] == ch
}

// matchClass matches a bracket expression whose body starts at pat[p]
// against ch, returning the position after its closing bracket.
func matchClass(pat []byte, p int, ch byte) (int, bool) {
	not := p < len(pat) && pat[p] == '^'
	if not {
		p++
	}
	match := false
	for p < len(pat) && pat[p] != ']' {
		switch {
		case pat[p] == '\\' && p+1 < len(pat):
			p++
			match = match || pat[p] == ch
		case p+2 < len(pat) && pat[p+1] == '-':
			lo, hi := pat[p], pat[p+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			match = match || (lo <= ch && ch <= hi)
			p += 2
		default:
			match = match || pat[p] == ch
		}
		p++
	}
	if p < len(pat) {
		p++ // the closing bracket
	}
	return p, match != not
}
