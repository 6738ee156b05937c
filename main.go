// Command quire is a self-hosted, multi-author publishing app in one binary.
// main only wires: configuration, store, migrations, dependencies, server,
// graceful shutdown.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"quire/assets"
	"quire/content"
	"quire/handlers"
	"quire/password"
	"quire/session"
	"quire/store"
	"quire/views"
)

// version is stamped at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `Quire - self-hosted multi-author publishing in one binary.

Usage:
  quire [serve] [flags]          serve the site (default command)
  quire migrate [--db DSN]       apply database migrations and exit
  quire backup [--db DSN] FILE   write a consistent copy of a SQLite database
  quire copy --from DSN --to DSN copy a whole site into a new, empty database
                                 (e.g. SQLite to PostgreSQL); migrates the target
  quire user create --email E --first F --last L [--role author|admin]
  quire user passwd --email E    set a password (read from stdin or prompted)
  quire user role --email E --role author|admin
  quire version                  print the version
  quire help                     this text

Every flag can also be set by an environment variable: --base-url is
QUIRE_BASE_URL, and so on. Run "quire serve --help" for the serve flags.
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		cmd, args = "help", args[1:]
	} else if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, stderr)
	case "migrate":
		err = migrateCmd(ctx, args, stdout, stderr)
	case "backup":
		err = backupCmd(ctx, args, stdout, stderr)
	case "copy":
		err = copyCmd(ctx, args, stdout, stderr)
	case "user":
		err = userCmd(ctx, args, stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "quire", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "quire: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "quire:", err)
		return 1
	}
	return 0
}

// serveConfig is everything "quire serve" can be told.
type serveConfig struct {
	addr, db, baseURL, logFormat, logLevel string
	rotate, grace, idle, max               time.Duration
	shutdown, accessTTL                    time.Duration
	noMigrate                              bool
	dbMaxOpen, dbMaxIdle                   int
	loginFailures, loginIPLimit            int
	registerLimit                          int
	registerWindow                         time.Duration
	trustedProxies, corsOrigins            string
	hashConcurrency                        int
}

func serveFlags(fs *flag.FlagSet) *serveConfig {
	c := &serveConfig{}
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.db, "db", "quire.db", "database: a SQLite file path, or a postgres:// URL")
	fs.StringVar(&c.baseURL, "base-url", "", "public URL of the site, e.g. https://blog.example.com (https makes cookies Secure)")
	fs.DurationVar(&c.rotate, "session-rotate", 15*time.Minute, "rotate a session token older than this")
	fs.DurationVar(&c.grace, "session-grace", 10*time.Second, "previous session token stays valid this long after rotation")
	fs.DurationVar(&c.idle, "session-idle", 7*24*time.Hour, "sign out after this long without use")
	fs.DurationVar(&c.max, "session-max", 30*24*time.Hour, "absolute lifetime of a sign-in")
	fs.DurationVar(&c.accessTTL, "access-token-ttl", 15*time.Minute, "lifetime of API access tokens")
	fs.DurationVar(&c.shutdown, "shutdown-timeout", 15*time.Second, "how long in-flight requests may finish on SIGTERM")
	fs.BoolVar(&c.noMigrate, "no-migrate", false, "do not apply migrations at start-up")
	fs.IntVar(&c.dbMaxOpen, "db-max-open", 0, "max open database connections (0 = default)")
	fs.IntVar(&c.dbMaxIdle, "db-max-idle", 0, "max idle database connections (0 = default)")
	fs.IntVar(&c.loginFailures, "login-failures", 5, "failed sign-ins per account before delays start")
	fs.IntVar(&c.loginIPLimit, "login-ip-failures", 20, "failed sign-ins per client IP before delays start")
	fs.IntVar(&c.registerLimit, "register-limit", 5, "registrations per client IP per --register-window")
	fs.DurationVar(&c.registerWindow, "register-window", time.Minute, "window of --register-limit")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "", "comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed")
	fs.StringVar(&c.corsOrigins, "cors-origin", "", "comma-separated origins allowed to call the API with credentials")
	fs.IntVar(&c.hashConcurrency, "hash-concurrency", 0, "password hashes computed at once (0 = number of CPUs)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return c
}

// parseFlags parses args, then fills every flag not given on the command
// line from QUIRE_<NAME> in the environment.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "QUIRE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
		}
	})
	return err
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := serveFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.logFormat, cfg.logLevel)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := store.Open(ctx, cfg.db, store.Options{MaxOpenConns: cfg.dbMaxOpen, MaxIdleConns: cfg.dbMaxIdle, Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	if !cfg.noMigrate {
		if err := st.Migrate(ctx); err != nil {
			return err
		}
	}
	app, err := buildApp(ctx, st, cfg, log, time.Now)
	if err != nil {
		return err
	}

	srv := newServer(cfg.addr, app, log)
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("quire listening", "addr", ln.Addr().String(), "db", st.Dialect(), "version", version)

	go sweep(ctx, st, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.shutdown.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// newServer builds the HTTP server with the limits that keep slow or
// oversized clients from holding connections: every timeout is set (a
// slowloris client is cut off after ReadHeaderTimeout) and request headers
// are capped at 64 KiB (431 beyond). Tests check these values.
func newServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           originForm(h),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// originForm serves a request whose target is in absolute form ("GET
// http://host/path", meant for proxies) as if it named only the path, so
// nothing downstream - gin's trailing-slash redirect copies the request URL
// into Location - builds a link from a host the client chose.
func originForm(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Scheme != "" || r.URL.Host != "" || r.URL.User != nil {
			u := *r.URL
			u.Scheme, u.Host, u.User = "", "", nil
			r2 := *r
			r2.URL = &u
			r = &r2
		}
		h.ServeHTTP(w, r)
	})
}

// buildApp wires every dependency of the HTTP handler.
func buildApp(ctx context.Context, st *store.Store, cfg *serveConfig, log *slog.Logger, now func() time.Time) (http.Handler, error) {
	secure := strings.HasPrefix(strings.ToLower(cfg.baseURL), "https://")
	as, err := assets.New()
	if err != nil {
		return nil, err
	}
	vs, err := views.Parse(handlers.TemplateFuncs(as.Path))
	if err != nil {
		return nil, err
	}
	common, err := password.LoadCommon()
	if err != nil {
		return nil, err
	}
	rotKey, err := st.Secret(ctx, "session-rotation-key", 32)
	if err != nil {
		return nil, err
	}
	csrfKey, err := st.Secret(ctx, "csrf-key", 32)
	if err != nil {
		return nil, err
	}
	jwtKey, err := st.Secret(ctx, "jwt-key", 32)
	if err != nil {
		return nil, err
	}
	mgr := session.NewManager(st, session.Config{RotateAfter: cfg.rotate, Grace: cfg.grace, Idle: cfg.idle, Max: cfg.max}, rotKey, now, log)
	states := session.NewStateStore(st, secure, now)
	return handlers.New(handlers.Deps{
		Store: st, Web: session.NewWeb(mgr, st, states, secure, csrfKey, log), States: states,
		Views: vs, Assets: as, Content: content.New(),
		Hasher: password.NewHasher(password.DefaultParams(), cfg.hashConcurrency), Common: common,
		Log: log, Now: now, JWTKey: jwtKey,
		Config: handlers.Config{
			Version: version, BaseURL: cfg.baseURL, Secure: secure,
			LoginFailures: cfg.loginFailures, LoginIPLimit: cfg.loginIPLimit,
			RegisterPerIP: cfg.registerLimit, RegisterWindow: cfg.registerWindow,
			TrustedProxies: splitList(cfg.trustedProxies),
			AccessTokenTTL: cfg.accessTTL, CORSOrigins: splitList(cfg.corsOrigins),
		},
	})
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sweep deletes expired sessions, counters and flash state every few minutes.
func sweep(ctx context.Context, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now().UTC()
		if _, err := st.SweepSessions(ctx, now, 24*time.Hour); err != nil {
			log.Warn("sweep sessions", "err", err)
		}
		if _, err := st.SweepRates(ctx, now.Add(-24*time.Hour)); err != nil {
			log.Warn("sweep rate limits", "err", err)
		}
		if _, err := st.SweepState(ctx, now); err != nil {
			log.Warn("sweep state", "err", err)
		}
	}
}
