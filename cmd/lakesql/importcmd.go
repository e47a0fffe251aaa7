package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/schollz/progressbar/v3"

	"github.com/lakesql/lakesql/internal/base"
	lsql "github.com/lakesql/lakesql/sql"
)

const importUsage = `Usage: lakesql import [flags] db.table FILE

Loads a CSV or Parquet file into a table and commits it as one version
(operation IMPORT in lakesql_log). The rows go straight into Parquet data
files through the branch writer's bulk path; rows that replace existing
ones (--upsert) mark the old rows deleted with deletion vectors.

If the table does not exist it is created first (a version of its own):
CSV column types are inferred from the first 10000 records (BOOLEAN,
BIGINT, DOUBLE, DATE, DATETIME, TIMESTAMP, else VARCHAR), Parquet types are
mapped; the table has no primary key unless --key names it. If the import
then fails, the table it created is dropped again. If the table exists,
the file's columns are matched by name (the header, or Parquet's names) or,
for CSV without --header, by position; columns the file lacks get their
DEFAULT or NULL.

Without --upsert, a key that the table already holds, or that two rows of
the file share, fails the import and nothing changes; with --upsert the
file's rows replace the table's (the last row of a key wins).

In CSV files an empty unquoted field and \N are NULL; "" is an empty
string. FILE "-" reads CSV from standard input.

Import takes the branch's writer lease like any writer: while a server
holds it, import fails naming that server; load the file through it with
LOAD DATA instead.

CSV files are parsed and converted on every core, in chunks; a Parquet
file whose column types fit the table (as import maps them when it
creates the table) is decoded straight into the table's types.

Memory: a table without a primary key is written as the file is read
(a 10M-row CSV import peaks at about 340 MB); a table with a key holds
the converted rows, as Arrow columns, until the single commit sorts them
(a version is one atomic bulk write).

Examples:
  lakesql import --data ./lakesql-data --header shop.stock stock.csv
  lakesql import --key sku --header shop.stock stock.csv        # create stock with PRIMARY KEY (sku)
  lakesql import --upsert --branch what-if shop.stock changes.parquet
  zcat big.csv.gz | lakesql import --header --delimiter '\t' shop.events -
`

// importFlags are import's settings.
type importFlags struct {
	branch    string
	upsert    bool
	format    string
	header    bool
	delimiter string
	key       string
}

func importCmd(args []string, cio cmdIO) int {
	c := newCommand("import", importUsage, true, cio)
	var f importFlags
	c.fs.StringVar(&f.branch, "branch", "main", "the branch to import into")
	c.fs.BoolVar(&f.upsert, "upsert", false, "replace the table's rows whose keys the file holds (else such keys fail the import)")
	c.fs.StringVar(&f.format, "format", "", "csv or parquet (default: by the file's extension; .parquet, .parq and .pq are Parquet)")
	c.fs.BoolVar(&f.header, "header", false, "the CSV file's first line names the columns")
	c.fs.StringVar(&f.delimiter, "delimiter", ",", `the CSV field separator: one character, or \t (or "tab")`)
	c.fs.StringVar(&f.key, "key", "", "primary key column(s), comma-separated, of a table import creates")
	pos, code, ok := c.parse(args, 2, 2)
	if !ok {
		return code
	}
	db, table, found := strings.Cut(pos[0], ".")
	if !found || db == "" || table == "" {
		return c.usageError("%q: want db.table", pos[0])
	}
	file := pos[1]
	if f.format == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".parquet", ".parq", ".pq":
			f.format = "parquet"
		default:
			f.format = "csv"
		}
	}
	if f.format != "csv" && f.format != "parquet" {
		return c.usageError("--format %q: want csv or parquet", f.format)
	}
	sep := f.delimiter
	if sep == `\t` || strings.EqualFold(sep, "tab") {
		sep = "\t"
	}
	if len(sep) != 1 || sep == `"` || sep == "\n" || sep == "\r" {
		return c.usageError("--delimiter %q: want one character other than a quote or a line end", f.delimiter)
	}
	if f.format == "parquet" && file == "-" {
		return c.usageError("Parquet cannot be read from standard input: name the file")
	}
	log, err := c.logger()
	if err != nil {
		return c.usageError("%v", err)
	}

	if err := c.requireData(); err != nil {
		return c.fail(err)
	}
	src, size, err := openSource(file, f.format, sep[0], f.header, cio.stdin)
	if err != nil {
		return c.fail(fmt.Errorf("%s: %w", file, err))
	}
	defer src.close()

	ctx, stop := signalContext()
	defer stop()
	if f.format == "csv" {
		defer tuneGC()()
	}
	e, err := c.openEngine(ctx, log)
	if err != nil {
		return c.fail(err)
	}
	im := &importer{c: c, e: e, f: f, db: strings.ToLower(db), table: table, file: file, src: src, size: size}
	if err := im.run(ctx); err != nil {
		return c.closeEngine(ctx, e, c.fail(err))
	}
	return c.closeEngine(ctx, e, exitOK)
}

// source is a file being imported: a *csvSource or a *parquetSource,
// each of which produces batches of rows for the loader.
type source interface {
	// columns are the file's columns, with the SQL types inferred or
	// mapped for them.
	columns() []srcColumn
	close() error
}

// openSource opens FILE as a source and returns its size (0 when unknown).
func openSource(file, format string, sep byte, header bool, stdin io.Reader) (source, int64, error) {
	if format == "parquet" {
		s, err := newParquetSource(file)
		if err != nil {
			return nil, 0, err
		}
		return s, s.pf.Size(), nil
	}
	var r io.Reader = stdin
	var closer io.Closer = io.NopCloser(nil)
	var size int64
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return nil, 0, err
		}
		if st, err := fh.Stat(); err == nil {
			size = st.Size()
		}
		r, closer = fh, fh
	}
	s, err := newCSVSource(r, sep, header)
	if err != nil {
		closer.Close()
		return nil, 0, err
	}
	return &closingCSV{s, closer}, size, nil
}

type closingCSV struct {
	*csvSource
	c io.Closer
}

func (c *closingCSV) close() error { return c.c.Close() }

// importer runs one import.
type importer struct {
	c     *command
	e     *lsql.Embedded
	f     importFlags
	db    string
	table string
	file  string
	src   source
	size  int64
	bar   *progressbar.ProgressBar
	// created is set when import created the table.
	created bool
	// readTook is the time reading and converting the file took,
	// commitTook the bulk write's and commit's.
	readTook, commitTook time.Duration
}

func (im *importer) run(ctx context.Context) error {
	start := time.Now()
	target := im.db + "." + im.table
	conn := im.e.Connect("root", dbName(im.db, im.f.branch))
	defer conn.Close()
	if _, err := conn.Query(ctx, "SHOW TABLES"); err != nil {
		if lsql.ErrorCode(err) == 1049 {
			if im.f.branch != "main" {
				return fmt.Errorf("database %s has no branch %s (or does not exist)", im.db, im.f.branch)
			}
			return fmt.Errorf("database %s does not exist; create it first: lakesql sql --data %s -q 'CREATE DATABASE %s'", im.db, redact(im.c.data), im.db)
		}
		return err
	}
	// Take the writer lease before reading the file (beyond the records
	// inference read): a server holding it fails the import at once,
	// naming itself.
	if err := im.e.PrepareLoad(ctx, im.db, im.f.branch); err != nil {
		return fmt.Errorf("import into %s: %w", target, err)
	}
	exists, err := tableExists(ctx, conn, im.table)
	if err != nil {
		return err
	}
	created := false
	if !exists {
		if err := im.createTable(ctx, conn); err != nil {
			return err
		}
		created, im.created = true, true
	} else if im.f.key != "" {
		return fmt.Errorf("table %s exists; --key only names the key of a table import creates", target)
	}
	n, version, err := im.load(ctx)
	if err != nil {
		if created {
			if _, derr := conn.Query(context.WithoutCancel(ctx), "DROP TABLE "+quoteIdent(im.table)); derr != nil {
				err = fmt.Errorf("%w (and dropping the table it created failed: %v)", err, derr)
			} else {
				err = fmt.Errorf("%w; the table it created was dropped again", err)
			}
		}
		return err
	}
	if n == 0 {
		fmt.Fprintf(im.c.io.stdout, "%s holds no rows: nothing was imported into %s\n", im.file, target)
		return nil
	}
	secs := time.Since(start).Seconds()
	size := "?"
	if im.size > 0 {
		size = formatBytes(im.size)
	}
	fmt.Fprintf(im.c.io.stdout, "imported %d rows into %s (branch %s, version %d) from %s: %s in %.2f s, %.0f rows/s (reading %.2f s, writing and committing %.2f s)\n",
		n, target, im.f.branch, version, im.file, size, secs, float64(n)/max(secs, 1e-9), im.readTook.Seconds(), im.commitTook.Seconds())
	return nil
}

// tableExists looks a table up by name, case-insensitively.
func tableExists(ctx context.Context, conn *lsql.Conn, table string) (bool, error) {
	res, err := conn.Query(ctx, "SHOW TABLES")
	if err != nil {
		return false, err
	}
	for _, r := range res.Rows {
		if s, ok := r[0].(string); ok && strings.EqualFold(s, table) {
			return true, nil
		}
	}
	return false, nil
}

// createTable creates the table from the file's columns.
func (im *importer) createTable(ctx context.Context, conn *lsql.Conn) error {
	cols := im.src.columns()
	var key []string
	if im.f.key != "" {
		for _, k := range strings.Split(im.f.key, ",") {
			k = strings.TrimSpace(k)
			found := false
			for _, c := range cols {
				if strings.EqualFold(c.name, k) {
					found, k = true, c.name
				}
			}
			if !found {
				return fmt.Errorf("--key %s: the file has no column %s", im.f.key, k)
			}
			key = append(key, k)
		}
	}
	var defs []string
	for _, c := range cols {
		d := quoteIdent(c.name) + " " + c.typ
		isKey := false
		for _, k := range key {
			isKey = isKey || k == c.name
		}
		if isKey && c.typ == "TEXT" {
			d = quoteIdent(c.name) + " VARCHAR(255)" // MySQL keys no TEXT
		}
		if !c.nullable || isKey {
			d += " NOT NULL"
		}
		defs = append(defs, d)
	}
	if len(key) > 0 {
		q := make([]string, len(key))
		for i, k := range key {
			q[i] = quoteIdent(k)
		}
		defs = append(defs, "PRIMARY KEY ("+strings.Join(q, ", ")+")")
	}
	stmt := "CREATE TABLE " + quoteIdent(im.table) + " (\n  " + strings.Join(defs, ",\n  ") + "\n)"
	if _, err := conn.Query(ctx, stmt); err != nil {
		return fmt.Errorf("creating table %s.%s: %s\n%s", im.db, im.table, sqlError(err), stmt)
	}
	fmt.Fprintf(im.c.io.stderr, "created table %s.%s:\n%s\n", im.db, im.table, stmt)
	return nil
}

// load reads the file into the loader and commits it.
func (im *importer) load(ctx context.Context) (int, int64, error) {
	o := lsql.BulkLoadOptions{Upsert: im.f.upsert, User: "root", Message: "import " + filepath.Base(im.file)}
	cols := im.src.columns()
	_, isCSV := im.src.(*closingCSV)
	if isCSV && !im.f.header {
		o.Columns = nil // by position: the first len(cols) columns
	} else {
		for _, c := range cols {
			o.Columns = append(o.Columns, c.name)
		}
	}
	l, err := im.e.NewBulkLoader(ctx, im.db, im.f.branch, im.table, o)
	if err != nil {
		return 0, 0, fmt.Errorf("import into %s.%s: %w", im.db, im.table, err)
	}
	defer func() { l.Abort() }() // nothing after a Commit; the loader may be replaced below
	if o.Columns == nil {
		vis := l.Columns()
		if len(cols) > len(vis) {
			return 0, 0, fmt.Errorf("%s has %d columns, table %s.%s only %d", im.file, len(cols), im.db, im.table, len(vis))
		}
		if len(cols) < len(vis) {
			o.Columns = make([]string, len(cols))
			for i := range cols {
				o.Columns[i] = vis[i].Name
			}
			if l, err = im.e.NewBulkLoader(ctx, im.db, im.f.branch, im.table, o); err != nil {
				return 0, 0, err
			}
		}
	}
	im.startProgress()
	readStart := time.Now()
	interrupted := func() error {
		if ctx.Err() != nil {
			return errors.New("interrupted; nothing was imported")
		}
		return nil
	}
	consume := func(rec arrow.Record, progress int64) error {
		if err := l.Append(rec); err != nil {
			return err
		}
		im.progress(progress)
		return interrupted()
	}
	switch s := im.src.(type) {
	case *closingCSV:
		type converted struct {
			rec   arrow.Record
			bytes int64
		}
		err = base.OrderedMap(0, s.produce, func(p csvPiece) (converted, error) {
			b, err := s.parse(p)
			if err != nil {
				return converted{}, err
			}
			rec, err := l.ConvertText(b.fields, b.nulls, len(b.lines))
			var re *lsql.RowError
			if errors.As(err, &re) {
				return converted{}, fmt.Errorf("%s line %d: %w%s", im.file, b.lines[re.Row], re.Err, im.typeHint())
			}
			return converted{rec, b.bytes}, err
		}, func(c converted) error { return consume(c.rec, c.bytes) })
	case *parquetSource:
		// A file whose columns fit the table exactly is decoded straight
		// into its column types, row groups in parallel.
		var fast bool
		if fast, err = im.loadParquet(ctx, l); fast || err != nil {
			break
		}
		w := l.Width()
		type converted struct {
			rec  arrow.Record
			last int64
		}
		err = base.OrderedMap(0, s.produce, func(b *rowBatch) (converted, error) {
			n := len(b.vals) / w
			rec, err := l.ConvertValues(b.vals, n)
			var re *lsql.RowError
			if errors.As(err, &re) {
				return converted{}, fmt.Errorf("%s row %d: %w", im.file, b.first+int64(re.Row), re.Err)
			}
			return converted{rec, b.first - 1 + int64(n)}, err
		}, func(c converted) error { return consume(c.rec, c.last) })
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), im.file) || err.Error() == "interrupted; nothing was imported" {
			return 0, 0, err
		}
		return 0, 0, fmt.Errorf("%s: %w", im.file, err)
	}
	if s, ok := im.src.(*closingCSV); ok && im.size == 0 {
		im.size = s.r.bytes // standard input: what was read (the producer has ended)
	}
	n := l.Rows()
	im.finishProgress(n)
	im.readTook = time.Since(readStart)
	commitStart := time.Now()
	version, err := l.Commit(ctx)
	im.commitTook = time.Since(commitStart)
	if err != nil {
		var dup *lsql.DuplicateKeyError
		if errors.As(err, &dup) {
			unit := "record" // of a CSV file, counted without the header
			if _, ok := im.src.(*parquetSource); ok {
				unit = "row"
			}
			msg := fmt.Sprintf("%s %d has key %s, which table %s already holds", unit, dup.Row, dup.Key, dup.Table)
			if dup.FirstRow > 0 {
				msg = fmt.Sprintf("%ss %d and %d have the same key", unit, dup.FirstRow, dup.Row)
			}
			return 0, 0, fmt.Errorf("%s: duplicate key %s: %s; nothing was imported (--upsert replaces the table's rows of the file's keys, the last row of a key winning)", im.file, dup.Key, msg)
		}
		return 0, 0, fmt.Errorf("import into %s.%s: %w", im.db, im.table, err)
	}
	return n, version, nil
}

// loadParquet loads a Parquet file whose columns fit the table's types
// exactly (see BulkLoader.AddParquet); false when they do not.
func (im *importer) loadParquet(ctx context.Context, l *lsql.BulkLoader) (bool, error) {
	ok, err := l.AddParquet(ctx, fileReader{im.file}, filepath.Base(im.file), func(rows int64) { im.progress(rows) })
	var re *lsql.RowError
	if errors.As(err, &re) {
		return ok, fmt.Errorf("%s row %d: %w", im.file, re.Row+1, re.Err)
	}
	if err == nil && ctx.Err() != nil {
		return ok, errors.New("interrupted; nothing was imported")
	}
	return ok, err
}

// typeHint explains a conversion error in a table import created from a
// CSV file.
func (im *importer) typeHint() string {
	if im.created {
		return fmt.Sprintf(" (import typed the table it created from the first %d records; to type it yourself, create it first with lakesql sql)", sampleRows)
	}
	return ""
}

// Progress: a bar on standard error when it is a terminal, over the bytes
// of a CSV file or the rows of a Parquet file.
func (im *importer) startProgress() {
	if !isTerminal(im.c.io.stderr) {
		return
	}
	total := im.size
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(im.c.io.stderr),
		progressbar.OptionSetDescription("reading " + filepath.Base(im.file)),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(true),
	}
	if p, ok := im.src.(*parquetSource); ok {
		total = p.total()
		opts = append(opts, progressbar.OptionSetItsString("rows"), progressbar.OptionShowIts())
	} else {
		opts = append(opts, progressbar.OptionShowBytes(true))
	}
	if total <= 0 {
		total = -1 // a spinner
	}
	im.bar = progressbar.NewOptions64(total, opts...)
}

// progress moves the bar to n bytes (CSV) or rows (Parquet) read.
func (im *importer) progress(n int64) {
	if im.bar != nil {
		im.bar.Set64(n)
	}
}

func (im *importer) finishProgress(rows int) {
	if im.bar == nil {
		return
	}
	im.bar.Finish()
	fmt.Fprintf(im.c.io.stderr, "\nwriting %d rows to Parquet and committing...\n", rows)
}

// tuneGC makes the garbage collector run less often during a CSV import,
// unless GOGC or GOMEMLIMIT say otherwise, and returns what restores it.
// Parsing a CSV file makes garbage at a high rate (a string per line, a
// slice of fields per chunk), and at the default GOGC=100 collections cost
// about a tenth of an import's CPU (10M rows: 3.84 s against 3.46 s).
// GOGC=400 lets the heap grow further between them (a 10M-row CSV import
// peaks at about 340 MB against 160 MB), and a soft limit of half the
// machine's memory (from /proc/meminfo, where there is one) keeps that
// growth from exhausting memory: near the limit collections run more
// often again.
func tuneGC() func() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	total := memTotal()
	if total <= 0 {
		return func() {}
	}
	oldLimit := debug.SetMemoryLimit(total / 2)
	oldPercent := debug.SetGCPercent(400)
	return func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	}
}

// memTotal is the machine's memory in bytes from /proc/meminfo, 0 where
// that is unknown.
func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// formatBytes spells a size: "41.9 MB".
func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
