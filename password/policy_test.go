package password

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadCommon(t *testing.T) {
	c, err := LoadCommon()
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() < 10000 {
		t.Fatalf("Len = %d, want at least 10000", c.Len())
	}
	tests := []struct {
		pw   string
		want bool
	}{
		{"password", true},
		{"12345678", true},
		{"qwertyuiop", true},
		{"iloveyou", true},
		{"PASSWORD", true},
		{"QwErTyUiOp", true},
		{"123456", true},
		{"trustno1", true},
		{"", false},
		{"password ", false},
		{"zq8#kLm2-vault-ember", false},
	}
	for _, tc := range tests {
		if got := c.Contains(tc.pw); got != tc.want {
			t.Errorf("Contains(%q) = %v, want %v", tc.pw, got, tc.want)
		}
	}
}

func TestNilCommonList(t *testing.T) {
	var c *CommonList
	if c.Contains("password") || c.Len() != 0 {
		t.Fatal("nil list should contain nothing")
	}
	if err := Validate("password", nil); err != nil {
		t.Fatalf("Validate with nil list = %v, want nil (length is fine)", err)
	}
}

func TestValidate(t *testing.T) {
	common, err := LoadCommon()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pw   string
		want error
	}{
		{"empty", "", ErrTooShort},
		{"7 chars", "zq8#kLm", ErrTooShort},
		{"8 chars", "zq8#kLm2", nil},
		{"15 chars", "zq8#kLm2-vault!", nil},
		{"7 two-byte runes (14 bytes)", strings.Repeat("é", 7), ErrTooShort},
		{"8 two-byte runes", strings.Repeat("é", 8), nil},
		{"8 four-byte runes", strings.Repeat("🔑", 8), nil},
		{"7 runes with emoji", "ключ🔑🔑🔑", ErrTooShort},
		{"256 bytes", strings.Repeat("a", MaxBytes), nil},
		{"256 bytes of two-byte runes", strings.Repeat("é", MaxBytes/2), nil},
		{"257 bytes", strings.Repeat("a", MaxBytes+1), ErrTooLong},
		{"257 bytes with multibyte", strings.Repeat("é", MaxBytes/2) + "a", ErrTooLong},
		{"common", "password", ErrTooCommon},
		{"common, capitalised", "Password", ErrTooCommon},
		{"common, upper case", "ILOVEYOU", ErrTooCommon},
		{"common digits", "12345678", ErrTooCommon},
		{"common keyboard walk", "qwertyuiop", ErrTooCommon},
		{"common word in a longer one", "password-for-quire", nil},
		{"invalid UTF-8", "abcdefgh\xff", ErrInvalidUTF8},
		{"truncated multibyte", "abcdefgh\xc3", ErrInvalidUTF8},
		{"no composition rules", "aaaaaaaabbbbbbbb", nil},
		{"spaces allowed", "four words with spaces", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Validate(tc.pw, common)
			if !errors.Is(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("Validate(%q) = %v, want %v", tc.pw, got, tc.want)
			}
		})
	}
}

func TestPolicyMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{ErrTooShort, "Use at least 8 characters."},
		{ErrTooLong, "Use at most 256 bytes."},
		{ErrTooCommon, "This password is too common; choose another."},
	}
	for _, tc := range tests {
		if tc.err.Error() != tc.want {
			t.Errorf("message %q, want %q", tc.err.Error(), tc.want)
		}
	}
	if MinLength != 8 || MaxBytes != 256 || RecommendedLength != 15 {
		t.Errorf("limits changed: MinLength=%d MaxBytes=%d RecommendedLength=%d; update the messages too",
			MinLength, MaxBytes, RecommendedLength)
	}
}
