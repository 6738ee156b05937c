package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"quire/password"
	"quire/store"
)

// openDB opens (and migrates) the database named by --db / QUIRE_DB.
func openDB(ctx context.Context, dsn string, migrate bool) (*store.Store, error) {
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "quire.db", "database: SQLite file or postgres:// URL")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := openDB(ctx, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database is at schema version %d\n", v)
	return nil
}

func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "quire.db", "SQLite database file to back up")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: quire backup [--db FILE] TARGET_FILE")
	}
	st, err := openDB(ctx, *db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s\n", fs.Arg(0))
	return nil
}

// copyCmd moves a whole site into another database, typically from SQLite
// to PostgreSQL when one machine is outgrown. The target is migrated first;
// the source is only read, so stop the instances using it beforehand.
func copyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "source database: SQLite file (sqlite:PATH or PATH) or postgres:// URL")
	to := fs.String("to", "", "target database, new and empty: SQLite file or postgres:// URL")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || *to == "" || fs.NArg() != 0 {
		return errors.New("usage: quire copy --from DSN --to DSN")
	}
	if !strings.HasPrefix(*from, "postgres://") && !strings.HasPrefix(*from, "postgresql://") {
		// Opening a missing SQLite file would create an empty one.
		if _, err := os.Stat(strings.TrimPrefix(*from, "sqlite:")); err != nil {
			return fmt.Errorf("source: %w", err)
		}
	}
	src, err := openDB(ctx, *from, false)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	dst, err := openDB(ctx, *to, true)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer dst.Close()
	stats, err := store.Copy(ctx, dst, src)
	if errors.Is(err, store.ErrTargetNotEmpty) {
		return fmt.Errorf("%w; copy into a new, empty database", err)
	}
	if err != nil {
		return err
	}
	for _, t := range stats.Tables {
		fmt.Fprintf(stdout, "%-20s %d rows\n", t.Table, t.Rows)
	}
	fmt.Fprintf(stdout, "copied %s (%s) to %s (%s)\n", redactDSN(*from), src.Dialect(), redactDSN(*to), dst.Dialect())
	return nil
}

// redactDSN hides the password of a postgres:// URL before it is printed.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

func userCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: quire user create|passwd|role [flags]")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "quire.db", "database: SQLite file or postgres:// URL")
	email := fs.String("email", "", "the user's email")
	first := fs.String("first", "", "first name (create)")
	last := fs.String("last", "", "last name (create)")
	role := fs.String("role", store.RoleAuthor, "role: author or admin")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	addr := strings.ToLower(strings.TrimSpace(*email))
	if addr == "" {
		return errors.New("--email is required")
	}
	if *role != store.RoleAuthor && *role != store.RoleAdmin {
		return fmt.Errorf("unknown role %q (author or admin)", *role)
	}
	st, err := openDB(ctx, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	hasher := password.NewHasher(password.DefaultParams(), 1)
	now := time.Now().UTC()
	readPassword := func() (string, error) {
		common, err := password.LoadCommon()
		if err != nil {
			return "", err
		}
		pw, err := promptPassword(stdin, stderr)
		if err != nil {
			return "", err
		}
		if err := password.Validate(pw, common); err != nil {
			return "", err
		}
		return hasher.Hash(ctx, pw)
	}

	switch sub {
	case "create":
		if strings.TrimSpace(*first) == "" || strings.TrimSpace(*last) == "" {
			return errors.New("--first and --last are required")
		}
		hash, err := readPassword()
		if err != nil {
			return err
		}
		u := store.User{FirstName: strings.TrimSpace(*first), LastName: strings.TrimSpace(*last), Email: addr,
			PasswordHash: hash, Role: *role, Status: store.StatusActive, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateUser(ctx, &u); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s user %s (%s)\n", u.Role, u.Email, u.ID)
	case "passwd":
		u, err := st.UserByEmail(ctx, addr)
		if err != nil {
			return err
		}
		hash, err := readPassword()
		if err != nil {
			return err
		}
		if err := st.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
			return err
		}
		// A new password ends every sign-in.
		if _, err := st.RevokeUserFamilies(ctx, u.ID, "", now); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password changed for %s; all sessions ended\n", u.Email)
	case "role":
		u, err := st.UserByEmail(ctx, addr)
		if err != nil {
			return err
		}
		if err := st.SetRole(ctx, u.ID, *role, now); err != nil {
			return err
		}
		if _, err := st.RevokeUserFamilies(ctx, u.ID, "", now); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is now %s; their sessions were ended\n", u.Email, *role)
	default:
		return fmt.Errorf("unknown user command %q", sub)
	}
	return nil
}

// promptPassword reads a password without echo from a terminal, or the
// first line of stdin otherwise (for scripts: echo pw | quire user ...).
func promptPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password on stdin")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
