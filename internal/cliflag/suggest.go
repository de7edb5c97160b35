package cliflag

import (
	"slices"
	"strings"
)

// Suggest returns the known word closest to word by edit distance, when
// it is close enough to be a typo (at most 2 edits, and fewer than half
// the word); "" otherwise.
func Suggest(word string, known []string) string {
	best, bestD := "", 0
	for _, k := range known {
		d := distance(word, k)
		if d == 0 {
			return ""
		}
		if best == "" || d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" || bestD > 2 || 2*bestD >= len(word) {
		return ""
	}
	return best
}

// DidYouMean is Suggest as a message suffix: ` (did you mean "KEY"?)`, or
// "" when nothing is close.
func DidYouMean(word string, known []string) string {
	if s := Suggest(word, known); s != "" {
		return ` (did you mean "` + s + `"?)`
	}
	return ""
}

// distance is the Levenshtein distance of a and b (bytes; the words are
// ASCII keys and commands), a transposition counting as one edit.
func distance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// CommandHint is what to add to "unknown command args[0]": where args
// start with a flag and name a known command later (flags before the
// command, a usual mistake), the same line with the command first
// ("prog status --socket /x"); else DidYouMean.
func CommandHint(prog string, args, known []string) string {
	if len(args) == 0 {
		return ""
	}
	if strings.HasPrefix(args[0], "-") {
		for i, a := range args[1:] {
			if slices.Contains(known, a) {
				rest := append(append([]string{}, args[:i+1]...), args[i+2:]...)
				return " (flags go after the command: " + strings.Join(append([]string{prog, a}, rest...), " ") + ")"
			}
		}
	}
	return DidYouMean(args[0], known)
}
