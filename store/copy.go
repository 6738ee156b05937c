package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrTargetNotEmpty is returned by Copy when the target already holds users
// or posts: copying would merge two sites, so it refuses instead.
var ErrTargetNotEmpty = errors.New("store: copy: the target database already has users or posts")

// TableRows is how many rows Copy wrote into one table.
type TableRows struct {
	Table string
	Rows  int64
}

// CopyStats lists every table Copy filled, in the order it filled them.
type CopyStats struct {
	Tables []TableRows
}

// Rows returns how many rows were copied into table (0 if none or unknown).
func (c CopyStats) Rows(table string) int64 {
	for _, t := range c.Tables {
		if t.Table == table {
			return t.Rows
		}
	}
	return 0
}

// Copy moves a whole site from src to dst, across dialects, so an operator
// can move from SQLite to PostgreSQL (or back) without losing users,
// sessions or posts. Every table of the schema is copied - found in the
// database catalog, not listed here, so a table a later migration adds is
// never forgotten - parents before children as the foreign keys demand,
// with post ids kept and id sequences moved past every id the source ever
// handed out. settings goes along, so the session, CSRF and signing keys
// carry over and signed-in visitors stay signed in.
//
// Both databases must be migrated to the same schema version. The copy is
// one transaction on dst over one consistent snapshot of src: it lands
// completely or not at all. A dst that already has users or posts is
// refused with ErrTargetNotEmpty; anything else in it (keys or counters an
// instance created when started on the empty database) is replaced.
func Copy(ctx context.Context, dst, src *Store) (CopyStats, error) {
	if dst == src {
		return CopyStats{}, errors.New("store: copy: source and target are the same database")
	}
	stats, err := copyAll(ctx, dst, src)
	switch {
	case errors.Is(err, ErrTargetNotEmpty):
		return CopyStats{}, ErrTargetNotEmpty
	case err != nil:
		return CopyStats{}, fmt.Errorf("store: copy: %w", err)
	}
	return stats, nil
}

func copyAll(ctx context.Context, dst, src *Store) (stats CopyStats, err error) {
	sv, err := src.SchemaVersion(ctx)
	if err != nil {
		return stats, err
	}
	dv, err := dst.SchemaVersion(ctx)
	if err != nil {
		return stats, err
	}
	switch {
	case sv == 0:
		return stats, errors.New("the source has no Quire schema (wrong database, or never migrated)")
	case sv != dv:
		return stats, fmt.Errorf("the source is at schema version %d and the target at %d: migrate both to the same version first", sv, dv)
	}

	// A repeatable-read snapshot on PostgreSQL; on SQLite a read
	// transaction sees one snapshot of the WAL from its first read.
	ro := &sql.TxOptions{ReadOnly: true}
	if src.dialect == DialectPostgres {
		ro.Isolation = sql.LevelRepeatableRead
	}
	stx, err := src.r.BeginTx(ctx, ro)
	if err != nil {
		return stats, fmt.Errorf("source: %w", err)
	}
	defer func() { _ = stx.Rollback() }() // read-only: nothing to undo

	dtx, err := dst.w.BeginTx(ctx, nil)
	if err != nil {
		return stats, fmt.Errorf("target: %w", err)
	}
	defer func() {
		if err != nil {
			if rerr := ignoreDone(dtx.Rollback()); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
	}()

	order, err := copyPlan(ctx, dst, dtx, src, stx)
	if err != nil {
		return stats, err
	}
	var taken int
	if err := dtx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM posts)`).Scan(&taken); err != nil {
		return stats, fmt.Errorf("target: %w", err)
	}
	if taken > 0 {
		return stats, ErrTargetNotEmpty
	}
	if dst.dialect == DialectSQLite {
		// Checked at commit instead of per row, so rows of a table that
		// refers to itself may arrive in any order.
		if _, err := dtx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
			return stats, fmt.Errorf("target: %w", err)
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		if _, err := dtx.ExecContext(ctx, `DELETE FROM `+quoteIdent(order[i])); err != nil {
			return stats, fmt.Errorf("target: clear %s: %w", order[i], err)
		}
	}
	for _, table := range order {
		n, err := copyTable(ctx, dst, dtx, stx, table)
		if err != nil {
			return stats, fmt.Errorf("table %s: %w", table, err)
		}
		high, err := src.highWater(ctx, stx, table)
		if err != nil {
			return stats, fmt.Errorf("table %s: source sequence: %w", table, err)
		}
		if err := dst.raiseSequence(ctx, dtx, table, high); err != nil {
			return stats, fmt.Errorf("table %s: target sequence: %w", table, err)
		}
		stats.Tables = append(stats.Tables, TableRows{Table: table, Rows: n})
	}
	if err := dtx.Commit(); err != nil {
		return stats, fmt.Errorf("target: commit: %w", err)
	}
	return stats, nil
}

// copyPlan checks that both databases have the same tables and returns them
// in an order that inserts every referenced row before the rows referring
// to it.
func copyPlan(ctx context.Context, dst *Store, dtx *sql.Tx, src *Store, stx *sql.Tx) ([]string, error) {
	st, err := src.tableNames(ctx, stx)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	dt, err := dst.tableNames(ctx, dtx)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	if !slices.Equal(st, dt) {
		return nil, fmt.Errorf("the databases have different tables: source %v, target %v", st, dt)
	}
	refs, err := dst.foreignKeys(ctx, dtx)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	return dependencyOrder(dt, refs)
}

// tableNames lists the application's tables, sorted; the migration
// bookkeeping and SQLite's internal tables are not part of a site.
func (s *Store) tableNames(ctx context.Context, tx *sql.Tx) ([]string, error) {
	query := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'
		AND name <> 'schema_migrations' ORDER BY name`
	if s.dialect == DialectPostgres {
		query = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
			AND table_name <> 'schema_migrations' ORDER BY table_name`
	}
	return queryStrings(ctx, tx, query)
}

// foreignKeys maps each table to the tables its foreign keys point at.
func (s *Store) foreignKeys(ctx context.Context, tx *sql.Tx) (map[string][]string, error) {
	query := `SELECT m.name, f."table" FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
		WHERE m.type = 'table'`
	if s.dialect == DialectPostgres {
		query = `SELECT c.relname, p.relname FROM pg_constraint k
			JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
			WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace`
	}
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("foreign keys: %w", err)
	}
	defer rows.Close()
	refs := map[string][]string{}
	for rows.Next() {
		var from, to string
		if err := rows.Scan(&from, &to); err != nil {
			return nil, fmt.Errorf("foreign keys: %w", err)
		}
		refs[from] = append(refs[from], to)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("foreign keys: %w", err)
	}
	return refs, nil
}

// dependencyOrder sorts tables so that every table comes after the tables
// it references (Kahn's algorithm, ties broken by name for a stable order).
// A table referring to itself is allowed; a cycle between tables is not,
// since no insert order could satisfy it.
func dependencyOrder(tables []string, refs map[string][]string) ([]string, error) {
	waiting := map[string]map[string]bool{}
	for _, t := range tables {
		waiting[t] = map[string]bool{}
		for _, p := range refs[t] {
			if p != t && slices.Contains(tables, p) {
				waiting[t][p] = true
			}
		}
	}
	var out []string
	for len(waiting) > 0 {
		var ready []string
		for t, parents := range waiting {
			if len(parents) == 0 {
				ready = append(ready, t)
			}
		}
		if len(ready) == 0 {
			left := make([]string, 0, len(waiting))
			for t := range waiting {
				left = append(left, t)
			}
			slices.Sort(left)
			return nil, fmt.Errorf("foreign keys form a cycle among %v", left)
		}
		slices.Sort(ready)
		for _, t := range ready {
			delete(waiting, t)
			for _, parents := range waiting {
				delete(parents, t)
			}
		}
		out = append(out, ready...)
	}
	return out, nil
}

// copyRowParams bounds the placeholders of one multi-row INSERT, well below
// SQLite's 32766 and PostgreSQL's 65535.
const copyRowParams = 1000

// copyTable streams every row of table from the source snapshot into the
// target, several rows per INSERT, and returns how many it wrote.
func copyTable(ctx context.Context, dst *Store, dtx *sql.Tx, stx *sql.Tx, table string) (int64, error) {
	dcols, err := columnTypes(ctx, dtx, table)
	if err != nil {
		return 0, fmt.Errorf("target columns: %w", err)
	}
	scols, err := columnTypes(ctx, stx, table)
	if err != nil {
		return 0, fmt.Errorf("source columns: %w", err)
	}
	names := make([]string, len(scols))
	for i, c := range scols {
		names[i] = c.Name()
	}
	dtypes := make([]string, len(names))
	for i, name := range names {
		j := slices.IndexFunc(dcols, func(c *sql.ColumnType) bool { return c.Name() == name })
		if j < 0 {
			return 0, fmt.Errorf("column %s is missing in the target", name)
		}
		dtypes[i] = strings.ToUpper(dcols[j].DatabaseTypeName())
	}
	if len(dcols) != len(scols) {
		return 0, fmt.Errorf("the target has %d columns, the source %d", len(dcols), len(scols))
	}

	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = quoteIdent(n)
	}
	colList := strings.Join(quoted, ", ")
	rows, err := stx.QueryContext(ctx, `SELECT `+colList+` FROM `+quoteIdent(table))
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	defer rows.Close()

	perStmt := max(1, copyRowParams/len(names))
	insert := func(n int) string {
		one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ") + ")"
		return dst.q(`INSERT INTO ` + quoteIdent(table) + ` (` + colList + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(one+", ", n), ", "))
	}
	full := insert(perStmt)
	var (
		total int64
		batch = make([]any, 0, perStmt*len(names))
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n := len(batch) / len(names)
		query := full
		if n < perStmt {
			query = insert(n)
		}
		if _, err := dtx.ExecContext(ctx, query, batch...); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		total += int64(n)
		batch = batch[:0]
		return nil
	}
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, fmt.Errorf("read: %w", err)
		}
		for i, v := range vals {
			batch = append(batch, convertValue(v, dtypes[i]))
		}
		if len(batch) == perStmt*len(names) {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return total, nil
}

// columnTypes describes the columns of table without reading a row.
func columnTypes(ctx context.Context, tx *sql.Tx, table string) ([]*sql.ColumnType, error) {
	rows, err := tx.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table)+` WHERE 1 = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	return cols, rows.Close()
}

// convertValue adapts a source value to the target column where the
// dialects store the same thing differently. Times are integers in both
// (unix ms, see the package doc); the one other difference is that SQLite
// has no boolean type and keeps 0/1.
func convertValue(v any, targetType string) any {
	switch x := v.(type) {
	case int64:
		if targetType == "BOOL" || targetType == "BOOLEAN" {
			return x != 0
		}
	case bool:
		if targetType != "BOOL" && targetType != "BOOLEAN" {
			if x {
				return int64(1)
			}
			return int64(0)
		}
	}
	return v
}

// highWater returns the highest id table's id sequence has ever handed out
// (0 when it has none), which may exceed the highest id still present when
// the newest rows were deleted.
func (s *Store) highWater(ctx context.Context, tx *sql.Tx, table string) (int64, error) {
	if s.dialect == DialectSQLite {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'`).Scan(&n); err != nil || n == 0 {
			return 0, err
		}
		var seq sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = ?`, table).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		return seq.Int64, err
	}
	cols, err := s.serialColumns(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	var high int64
	for _, c := range cols {
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass)`,
			quoteIdent(table), c).Scan(&last); err != nil {
			return 0, err
		}
		high = max(high, last.Int64)
	}
	return high, nil
}

// raiseSequence makes table's id sequence continue after both high (the
// source's high-water mark) and every id now in the table, so new rows
// neither collide with copied ids nor reuse ids of deleted posts.
func (s *Store) raiseSequence(ctx context.Context, tx *sql.Tx, table string, high int64) error {
	if s.dialect == DialectSQLite {
		// SQLite raises sqlite_sequence itself for the inserted ids; only
		// an AUTOINCREMENT table keeps one, and only the source's higher
		// mark is left to apply.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?
			AND UPPER(sql) LIKE '%AUTOINCREMENT%'`, table).Scan(&n); err != nil || n == 0 || high == 0 {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?`, high, table)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`, table, high)
		return err
	}
	cols, err := s.serialColumns(ctx, tx, table)
	if err != nil {
		return err
	}
	for _, c := range cols {
		var top int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(`+quoteIdent(c)+`), 0) FROM `+quoteIdent(table)).Scan(&top); err != nil {
			return err
		}
		if top = max(top, high); top == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence($1, $2)::regclass, $3)`,
			quoteIdent(table), c, top); err != nil {
			return err
		}
	}
	return nil
}

// serialColumns lists table's columns fed by a sequence (identity or
// serial) on PostgreSQL.
func (s *Store) serialColumns(ctx context.Context, tx *sql.Tx, table string) ([]string, error) {
	return queryStrings(ctx, tx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1
		AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')
		ORDER BY ordinal_position`, table)
}

func queryStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// quoteIdent quotes a table or column name read from the catalog, valid in
// both dialects.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
