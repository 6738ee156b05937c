package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	playwright "github.com/mxschmitt/playwright-go"
)

// Scenario 1: register, land on the login page with the flash, sign in, and
// the navigation greets the user.
func TestRegisterThenSignIn(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	v := newVisitor(t, srv, "visitor")
	u := newUser("Ada")

	v.visit("/")
	v.signedOut()
	v.click(v.link("Register"), "Register in the navigation")
	v.atURL("/register")
	v.register(u)

	v.fill("Email", u.Email)
	v.fill("Password", u.Password)
	v.click(v.button("Login"), "Login")
	v.atURL("/")
	v.signedInAs(u)
	v.visible(v.role(playwright.AriaRoleHeading, "Welcome back, "+u.First), "home greeting")
	if v.cookie() == "" {
		t.Fatal("no session cookie after signing in")
	}
}

// Scenario 2: registration errors are swapped in place by htmx (no
// navigation), typed values survive, and a duplicate email in another case
// is refused with the exists message.
func TestRegisterErrorsInline(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	v := newVisitor(t, srv, "visitor")

	v.visit("/register")
	v.mark()
	v.fill("First name", "   ")
	v.fill("Last name", "Lovelace")
	v.fill("Email", "not-an-email")
	v.fill("Password", "short")
	v.click(v.button("Register"), "Register")

	v.visible(v.text("First name is required."), "first name error")
	v.visible(v.text("Enter a valid email address, like name@example.com."), "email error")
	v.visible(v.page.Locator("#password-error"), "password error")
	v.stillSameDocument()
	v.atURL("/register")
	v.must(v.expect.Locator(v.field("Last name")).ToHaveValue("Lovelace"), "last name kept")
	v.must(v.expect.Locator(v.field("Email")).ToHaveValue("not-an-email"), "email kept")
	v.must(v.expect.Locator(v.field("Password")).ToHaveValue(""), "password never echoed")
	v.must(v.expect.Locator(v.field("Email")).ToHaveAttribute("aria-invalid", "true"), "email marked invalid")
	v.must(v.expect.Locator(v.field("First name")).ToBeFocused(), "focus on the first invalid field")
	v.snapshot("register-form-errors")

	// The same email in different case is the same account.
	u := newUser("Grace")
	other := newVisitor(t, srv, "first-registrant")
	other.register(u)

	v.visit("/register")
	v.mark()
	v.fill("First name", "Grace")
	v.fill("Last name", "Again")
	v.fill("Email", strings.ToUpper(u.Email))
	v.fill("Password", u.Password)
	v.click(v.button("Register"), "Register")
	v.visible(v.text("A user with this email already exists."), "duplicate email error")
	v.stillSameDocument()
	v.must(v.expect.Locator(v.field("First name")).ToHaveValue("Grace"), "first name kept")
	v.must(v.expect.Locator(v.field("Last name")).ToHaveValue("Again"), "last name kept")
}

// Scenario 3: a wrong password gets the one generic message; repeated
// failures get the throttle message (the server allows 3 per account).
func TestLoginErrorsAndThrottle(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	v := newVisitor(t, srv, "visitor")
	u := newUser("Mallory")
	v.register(u)

	// attempt submits the form and returns the message of the form htmx
	// swapped in (waiting for the swap, so no answer is read twice).
	formError := v.page.Locator("#login-form .form-error")
	attempt := func(email, pw string) string {
		t.Helper()
		v.fill("Email", email)
		v.fill("Password", pw)
		v.swapped("#login-form", func() { v.click(v.button("Login"), "Login") })
		msg, err := formError.TextContent()
		v.must(err, "read the sign-in error")
		return msg
	}
	const generic = "Invalid email or password."

	v.mark()
	if got := attempt(u.Email, "wrong password 1"); got != generic {
		t.Fatalf("wrong password: message %q, want %q", got, generic)
	}
	v.visible(v.text(generic), "generic sign-in error")
	v.stillSameDocument()
	v.must(v.expect.Locator(v.field("Email")).ToHaveValue(u.Email), "email kept")
	v.must(v.expect.Locator(v.field("Password")).ToHaveValue(""), "password not echoed")

	// An unknown account reads exactly the same.
	if got := attempt("nobody."+u.Email, "wrong password 2"); got != generic {
		t.Fatalf("unknown email: message %q, want %q", got, generic)
	}

	// Three failures are allowed; after that each attempt inside the delay
	// (1 s, doubling with each further failure) is refused unchecked. Fail
	// on until the delay is long enough that the next step surely lands
	// inside it, however slow the machine.
	throttled := regexp.MustCompile(`^Too many failed sign-in attempts\. Please wait (a second|(\d+) seconds) and try again\.$`)
	failures, wait := 1, 0 // the first wrong password above; the unknown email counts elsewhere
	for i := 1; i <= 12 && wait < 3; i++ {
		msg := attempt(u.Email, "wrong password again")
		m := throttled.FindStringSubmatch(msg)
		switch {
		case msg == generic:
			failures++
		case m == nil:
			t.Fatalf("attempt %d: unexpected message %q", i, msg)
		case failures < 3:
			t.Fatalf("throttled after %d failures; the server allows 3", failures)
		default:
			wait = 1
			if m[2] != "" {
				wait, _ = strconv.Atoi(m[2])
			}
			if wait < 3 {
				pause(time.Duration(wait)*time.Second + 100*time.Millisecond)
			}
		}
	}
	if wait < 3 {
		t.Fatalf("no throttle message of 3 s or more after %d failed sign-ins", failures)
	}
	v.visible(v.page.GetByText(throttled), "throttle message")
	v.stillSameDocument()

	// While throttled even the right password is refused, with the same message.
	if got := attempt(u.Email, u.Password); !throttled.MatchString(got) {
		t.Fatalf("right password while throttled: message %q, want the throttle message", got)
	}
	v.signedOut()
	v.atURL("/login")
}

// Scenario 14: the login form can be reached, filled and submitted with the
// keyboard alone, and every input of the auth and editor forms has a label.
func TestKeyboardOnlyLogin(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	v := newVisitor(t, srv, "visitor")
	u := newUser("Kay")
	v.register(u)

	for _, path := range []string{"/register", "/login"} {
		v.visit(path)
		assertLabelled(t, v)
	}

	// From the top of the page, Tab to the email field.
	v.visit("/login")
	kb := v.page.Keyboard()
	reached := false
	for i := 0; i < 20 && !reached; i++ {
		v.must(kb.Press("Tab"), "press Tab")
		id, err := v.page.Evaluate(`() => document.activeElement && document.activeElement.id`)
		v.must(err, "read focus")
		reached = id == "email"
	}
	if !reached {
		t.Fatal("Tab never reached the Email field")
	}
	v.must(kb.Type(u.Email), "type the email")
	v.must(kb.Press("Tab"), "Tab to the password")
	v.must(v.expect.Locator(v.field("Password")).ToBeFocused(), "focus moves to Password")
	v.must(kb.Type(u.Password), "type the password")
	v.must(kb.Press("Enter"), "press Enter")
	v.atURL("/")
	v.signedInAs(u)

	// The editor too (title, Markdown content) is labelled.
	v.visit("/blog/new")
	assertLabelled(t, v)
}

// assertLabelled fails unless every visible form control on the page has a
// <label> associated with it (control.labels).
func assertLabelled(t *testing.T, v *visitor) {
	t.Helper()
	res, err := v.page.Evaluate(`() => {
		const bad = [];
		let n = 0;
		for (const el of document.querySelectorAll('input, textarea, select')) {
			if (el.type === 'hidden') continue;
			n++;
			const labelled = el.labels && Array.from(el.labels).some(l => l.textContent.trim() !== '');
			if (!labelled) bad.push(el.outerHTML.slice(0, 120));
		}
		if (n === 0) return 'no form controls found';
		return bad.length ? 'inputs without a label: ' + bad.join(' | ') : '';
	}`)
	v.must(err, "check labels")
	if problem, _ := res.(string); problem != "" {
		t.Fatalf("%s: %s", v.page.URL(), problem)
	}
}
