package password

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Length limits for new passwords, after NIST SP 800-63B: a floor, the
// length to suggest, and a ceiling in bytes that keeps hashing input bounded.
const (
	MinLength         = 8   // runes
	RecommendedLength = 15  // runes; shown as advice, not enforced
	MaxBytes          = 256 // bytes of UTF-8
)

// Policy errors. Their messages are written for the person choosing the
// password and can be shown as they are.
var (
	ErrTooShort    = errors.New("Use at least 8 characters.")
	ErrTooLong     = errors.New("Use at most 256 bytes.")
	ErrTooCommon   = errors.New("This password is too common; choose another.")
	ErrInvalidUTF8 = errors.New("Use only valid Unicode characters.")
)

// commonTxt is the embedded common-password list, one lower-cased password
// per line, most common first; see COMMON_SOURCE.md for where it came from.
//
//go:embed common.txt
var commonTxt string

// CommonList is a set of common passwords, matched case-insensitively.
type CommonList struct {
	words map[string]struct{}
}

// LoadCommon builds a CommonList from the embedded list. Build it once at
// start-up and share it; it is read-only after construction.
func LoadCommon() (*CommonList, error) {
	words := make(map[string]struct{}, strings.Count(commonTxt, "\n")+1)
	for line := range strings.Lines(commonTxt) {
		w := strings.TrimRight(line, "\r\n")
		if w != "" {
			words[strings.ToLower(w)] = struct{}{}
		}
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("password: load common list: embedded list is empty")
	}
	return &CommonList{words: words}, nil
}

// Contains reports whether pw, ignoring case, is on the list. A nil list
// contains nothing.
func (c *CommonList) Contains(pw string) bool {
	if c == nil {
		return false
	}
	_, ok := c.words[strings.ToLower(pw)]
	return ok
}

// Len returns the number of distinct passwords on the list.
func (c *CommonList) Len() int {
	if c == nil {
		return 0
	}
	return len(c.words)
}

// Validate checks a new password: valid UTF-8, at most MaxBytes bytes, at
// least MinLength Unicode characters, and not on common (skipped if common is
// nil). There are deliberately no composition rules. The error is one of
// ErrInvalidUTF8, ErrTooLong, ErrTooShort or ErrTooCommon.
func Validate(pw string, common *CommonList) error {
	switch {
	case len(pw) > MaxBytes:
		return ErrTooLong
	case !utf8.ValidString(pw):
		return ErrInvalidUTF8
	case utf8.RuneCountInString(pw) < MinLength:
		return ErrTooShort
	case common.Contains(pw):
		return ErrTooCommon
	}
	return nil
}
