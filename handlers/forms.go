package handlers

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors collects a form's problems: one message per field plus a general one.
type Errors struct {
	Fields  map[string]string
	General string
}

// Get returns the message for a field ("" when fine).
func (e Errors) Get(field string) string { return e.Fields[field] }

// Any reports whether there is any error.
func (e Errors) Any() bool { return len(e.Fields) > 0 || e.General != "" }

// Add records the first message for a field.
func (e *Errors) Add(field, msg string) {
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = msg
	}
}

// cleanText trims s and rejects what no human types: invalid UTF-8, NUL and
// other control characters (except newlines and tabs when multiline) and
// bidirectional overrides that can disguise names.
func cleanText(s string, multiline bool) (string, string) {
	if !utf8.ValidString(s) {
		return "", "contains invalid characters (not valid UTF-8)"
	}
	for _, r := range s {
		switch {
		case r == 0:
			return "", "contains a NUL character"
		case r == '\n' || r == '\r' || r == '\t':
			if !multiline && r != '\t' {
				return "", "must be a single line"
			}
		case unicode.IsControl(r):
			return "", "contains control characters"
		case (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069):
			return "", "contains text-direction override characters"
		}
	}
	if multiline {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	return strings.TrimSpace(s), ""
}

// textField validates a required or optional field with a rune limit.
func textField(errs *Errors, field, label, raw string, required bool, maxRunes int, multiline bool) string {
	v, problem := cleanText(raw, multiline)
	switch {
	case problem != "":
		errs.Add(field, label+" "+problem+".")
		return strings.TrimSpace(strings.ToValidUTF8(raw, ""))
	case required && v == "":
		errs.Add(field, label+" is required.")
	case utf8.RuneCountInString(v) > maxRunes:
		errs.Add(field, label+" must be at most "+strconv.Itoa(maxRunes)+" characters.")
	}
	return v
}

// singleValued flags each field (name -> label) that was sent more than
// once: browsers never repeat these fields, and silently keeping the first
// value would hide what the client meant.
func singleValued(form url.Values, errs *Errors, labels map[string]string) {
	for field, label := range labels {
		if len(form[field]) > 1 {
			errs.Add(field, label+" was sent more than once.")
		}
	}
}

// normalizeEmail trims and lower-cases; emails are unique case-insensitively.
func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// validEmail is a deliberately simple check: one @, something on both sides,
// a dot in the domain, no spaces. Real validation is the confirmation a user
// can sign in with it.
func validEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>()[],;:\"\\") {
		return false
	}
	// No NUL, control or direction-override characters, valid UTF-8
	// (PostgreSQL refuses the first and the last in text); U+FFFD is what
	// lower-casing made of invalid bytes.
	if _, problem := cleanText(s, false); problem != "" || strings.ContainsRune(s, utf8.RuneError) {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(local) > 64 {
		return false
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return false
	}
	return true
}
