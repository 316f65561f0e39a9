package server

import (
	"strings"
	"testing"
)

func TestMatchGlob(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", false}, // Redis: only the empty pattern matches the empty key (KEYS * lists it by a shortcut)
		{"**", "", false},
		{"*", "anything", true},
		{"**", "x", true},
		{"a*", "a", true},
		{"a*", "abc", true},
		{"a*", "bac", false},
		{"*c", "abc", true},
		{"*c", "abd", false},
		{"a*c", "ac", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbcd", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxcyyb", false},
		{"*a*a*a*", "aaa", true},
		{"*a*a*a*", "aa", false},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h??lo", "hello", true},
		{"?", "", false},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[a-b]llo", "hcllo", false},
		{"h[b-a]llo", "hallo", true}, // reversed range
		{"[a-cx-z]", "y", true},
		{"[a-cx-z]", "d", false},
		{"[\\]]", "]", true},
		{"[\\-]", "-", true},
		{"[a\\-c]", "b", false},
		{"[]", "a", false},     // empty set
		{"[^]", "a", true},     // negated empty set
		{"[abc", "b", true},    // open bracket runs to the end
		{"[abc", "d", false},   // …
		{"[", "a", false},      // nothing in it
		{"[^", "a", true},      // negated nothing
		{"[a-]", "^", true},    // Redis reads this as the range ]-a
		{"[a-]", "b", false},   // …
		{"[a-]", "-", false},   // …
		{"\\*", "*", true},     // escaped star
		{"\\*", "a", false},    // …
		{"\\?", "?", true},     // escaped question mark
		{"a\\", "a\\", true},   // trailing backslash stands for itself
		{"\\[a]", "[a]", true}, // escaped bracket
		{"[*]", "*", true},     // star is literal inside brackets
		{"[*]", "a", false},    // …
		{"[?]", "?", true},
		{"user:*:name", "user:42:name", true},
		{"user:*:name", "user:42:mail", false},
		{"*\xff", "a\xff", true}, // bytes compare as unsigned
		{"[\x80-\xff]", "\x90", true},
		{"a*", strings.Repeat("a", 10000), true},
		{strings.Repeat("*a", 20) + "b", strings.Repeat("a", 200), false}, // no exponential blow-up
	} {
		if got := matchGlob([]byte(tc.pat), tc.s); got != tc.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
}

// FuzzMatchGlob checks that matching never panics and that a pattern
// without special characters matches exactly itself.
func FuzzMatchGlob(f *testing.F) {
	f.Add("a*b?[c-d]\\e", "axbycde")
	f.Add("[^", "x")
	f.Fuzz(func(t *testing.T, pat, s string) {
		matchGlob([]byte(pat), s)
		if !strings.ContainsAny(pat, "*?[\\") && matchGlob([]byte(pat), s) != (pat == s) {
			t.Errorf("literal pattern %q vs %q", pat, s)
		}
	})
}
