package sql_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/store/external"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/s3/s3test"
)

// sale is a row of the foreign Parquet files the tests write, as another
// tool would: no lakesql metadata, no field ids.
type sale struct {
	ID     int64    `parquet:"id"`
	Region string   `parquet:"region,dict"`
	Amount *float64 `parquet:"amount,optional"`
}

// saleFile encodes rows id lo..hi as a foreign Parquet file (row groups of
// 64 rows). Amounts are id * 1.5, NULL for multiples of 10.
func saleFile(t testing.TB, lo, hi int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[sale](&buf, parquet.MaxRowsPerRowGroup(64), parquet.Compression(&parquet.Snappy))
	var rows []sale
	for id := lo; id <= hi; id++ {
		s := sale{ID: id, Region: []string{"north", "south", "east"}[id%3]}
		if id%10 != 0 {
			a := float64(id) * 1.5
			s.Amount = &a
		}
		rows = append(rows, s)
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sums is what the sales of lo..hi add up to: count, sum(id), sum(amount).
func sums(lo, hi int64) string {
	var n, ids int64
	var amount float64
	for id := lo; id <= hi; id++ {
		n++
		ids += id
		if id%10 != 0 {
			amount += float64(id) * 1.5
		}
	}
	return fmt.Sprintf("%d %d %g", n, ids, amount)
}

func callVersion(t testing.TB, c execer, q string) int64 {
	t.Helper()
	rows := query(t, c, q)
	if len(rows) != 1 {
		t.Fatalf("%s: %q", q, rows)
	}
	var v int64
	fmt.Sscan(rows[0], &v)
	return v
}

func TestVirtualFilesLocal(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.parquet", saleFile(t, 1, 100))
	write("b.parquet", saleFile(t, 101, 250))
	write("overlap.parquet", saleFile(t, 240, 260))
	prefix := "file://" + filepath.ToSlash(dir) + "/"

	st, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := startDB(t, serverOpts{store: st})
	mustExec(t, c, "CREATE TABLE sales (id BIGINT PRIMARY KEY, region VARCHAR(10), amount DOUBLE)")
	mustExec(t, c, "INSERT INTO sales VALUES (1000, 'west', 1)")
	// Files outside every container are refused.
	if _, err := c.ExecContext(context.Background(), "CALL lakesql_add_files('sales', '"+prefix+"a.parquet')"); err == nil || !strings.Contains(err.Error(), "no container covers") {
		t.Fatalf("add_files without a container: %v", err)
	}
	mustExec(t, c, "CALL lakesql_container_create('local', '"+prefix+"')")
	expectRows(t, c, "SELECT name, url_prefix, platform FROM lakesql_containers", "local "+prefix+" file")

	expectRows(t, c, "CALL lakesql_add_files('sales', '"+prefix+"[ab].parquet')", "2 2 250 "+fmt.Sprint(mustSize(t, dir, "a.parquet")+mustSize(t, dir, "b.parquet")))
	added := int64(2)
	expectRows(t, c, "SELECT COUNT(*), SUM(id), SUM(amount) FROM sales WHERE id < 1000", sums(1, 250))
	expectRows(t, c, "SELECT id, region, amount FROM sales WHERE id = 151", "151 south 226.5")
	expectRows(t, c, "SELECT id, amount FROM sales WHERE id IN (10, 11)", "10 NULL", "11 16.5")
	expectRows(t, c, "SELECT COUNT(*) FROM sales WHERE region = 'north' AND id BETWEEN 100 AND 200", "33")

	// Keys must be new: the call names the key and changes nothing.
	err = expectErr(t, c, 1062, "CALL lakesql_add_files('sales', '"+prefix+"overlap.parquet')")
	if !strings.Contains(err.Error(), "[240]") {
		t.Fatalf("the offending key is not named: %v", err)
	}
	if _, err := c.ExecContext(context.Background(), "CALL lakesql_add_files('sales', '"+prefix+"a.parquet')"); err == nil {
		t.Fatal("a file was added twice")
	}
	expectRows(t, c, "SELECT COUNT(*) FROM sales", "251")

	// Upserts, updates and deletes on top of the virtual files.
	mustExec(t, c, "INSERT INTO sales VALUES (5, 'west', 0) ON DUPLICATE KEY UPDATE amount = amount + 1")
	mustExec(t, c, "UPDATE sales SET region = 'x' WHERE id BETWEEN 200 AND 204")
	mustExec(t, c, "DELETE FROM sales WHERE id = 7")
	check := func() {
		t.Helper()
		expectRows(t, c, "SELECT amount FROM sales WHERE id = 5", "8.5")
		expectRows(t, c, "SELECT COUNT(*) FROM sales WHERE region = 'x'", "5")
		expectRows(t, c, "SELECT COUNT(*) FROM sales WHERE id = 7", "0")
		expectRows(t, c, "SELECT COUNT(*), SUM(id) FROM sales", "250 "+fmt.Sprint(250*251/2-7+1000))
		expectRows(t, c, fmt.Sprintf("SELECT COUNT(*), SUM(id), SUM(amount) FROM sales AS OF %d WHERE id < 1000", added), sums(1, 250))
	}
	check()
	mustExec(t, c, "CALL lakesql_flush()")
	check()
	mustExec(t, c, "CALL lakesql_compact()")
	check()

	// The dependency listing, and a container in use cannot go.
	expectRows(t, c, "SELECT url, container, branch, table_name, added_version FROM lakesql_external_files",
		prefix+"a.parquet local main sales 2", prefix+"b.parquet local main sales 2")
	expectErr(t, c, 1105, "CALL lakesql_container_delete('local')")

	// Materialize: the branch reads managed files, older versions the
	// originals.
	v := callVersion(t, c, "CALL lakesql_materialize('sales')")
	expectRows(t, c, "SELECT COUNT(*) FROM lakesql_files WHERE path LIKE 'file:%'", "0")
	check()
	expectRows(t, c, fmt.Sprintf("SELECT COUNT(*) FROM lakesql_files AS OF %d WHERE path LIKE 'file:%%'", added), "2")

	// A file changed behind lakesql's back fails the read that needs it,
	// naming the file and the version that added it; the materialized
	// branch does not need it.
	time.Sleep(10 * time.Millisecond) // a new modification time
	write("b.parquet", saleFile(t, 101, 251))
	_, err = tryQuery(c, fmt.Sprintf("SELECT SUM(id) FROM sales AS OF %d", added))
	if err == nil || !strings.Contains(err.Error(), prefix+"b.parquet") || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("reading a changed virtual file: %v", err)
	}
	// A file deleted before any read of it fails the read by name.
	write("c.parquet", saleFile(t, 400, 410))
	mustExec(t, c, "CALL lakesql_add_files('sales', '"+prefix+"c.parquet')")
	os.Remove(filepath.Join(dir, "c.parquet"))
	_, err = tryQuery(c, "SELECT SUM(amount) FROM sales")
	if err == nil || !strings.Contains(err.Error(), prefix+"c.parquet") || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("reading a missing virtual file: %v", err)
	}
	expectRows(t, c, fmt.Sprintf("SELECT COUNT(*) FROM sales AS OF %d", v), "250")
}

func mustSize(t testing.TB, dir, name string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// event is a row of a keyless table's foreign file.
type event struct {
	At   int64  `parquet:"at"`
	Kind string `parquet:"kind"`
}

func TestVirtualFilesKeyless(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[event](&buf, parquet.MaxRowsPerRowGroup(100))
	for i := range 1000 {
		w.Write([]event{{At: int64(1000 - i), Kind: []string{"click", "view"}[i%2]}})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "events.parquet"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := "file://" + filepath.ToSlash(dir) + "/"
	c := startDB(t, serverOpts{})
	mustExec(t, c, "CALL lakesql_container_create('ev', '"+prefix+"')")
	expectRows(t, c, "CALL lakesql_create_table_from_files('events', '"+prefix+"events.parquet')",
		fmt.Sprintf("2 1 1000 %d", buf.Len()))
	expectRows(t, c, "SELECT COUNT(*), SUM(at), MIN(at), MAX(at) FROM events", "1000 500500 1 1000")
	expectRows(t, c, "SELECT COUNT(*) FROM events WHERE kind = 'view'", "500")
	mustExec(t, c, "UPDATE events SET kind = 'buy' WHERE at <= 10")
	mustExec(t, c, "DELETE FROM events WHERE at > 990")
	mustExec(t, c, "INSERT INTO events VALUES (5000, 'new')")
	check := func() {
		t.Helper()
		expectRows(t, c, "SELECT kind, COUNT(*) FROM events GROUP BY kind ORDER BY kind", "buy 10", "click 490", "new 1", "view 490")
		expectRows(t, c, "SELECT COUNT(*), SUM(at) FROM events AS OF 2", "1000 500500")
	}
	check()
	mustExec(t, c, "CALL lakesql_flush()")
	check()
	expectRows(t, c, "CALL lakesql_materialize('events')", "3 1")
	check()
	// Appending the same file again gives its rows new hidden ids.
	mustExec(t, c, "CALL lakesql_add_files('events', '"+prefix+"events.parquet')")
	expectRows(t, c, "SELECT COUNT(*) FROM events", "1991")
	expectRows(t, c, "SELECT COUNT(*) FROM lakesql_files WHERE path LIKE 'file:%'", "1")
	// A merge that rewrites a mostly deleted virtual file materializes it.
	mustExec(t, c, "DELETE FROM events WHERE at > 100")
	mustExec(t, c, "CALL lakesql_flush()")
	mustExec(t, c, "CALL lakesql_compact('events')")
	expectRows(t, c, "SELECT COUNT(*) FROM lakesql_files WHERE path LIKE 'file:%'", "0")
	expectRows(t, c, "SELECT kind, COUNT(*), SUM(at) FROM events GROUP BY kind ORDER BY kind", "buy 10 55", "click 95 5070", "view 95 4975")
	// The older versions still read the file.
	expectRows(t, c, "SELECT DISTINCT url, added_version FROM lakesql_external_files ORDER BY added_version", prefix+"events.parquet 2", prefix+"events.parquet 4")

	// UNIQUE indexes are not checked against added files yet: refused.
	mustExec(t, c, "CREATE TABLE u (at BIGINT, kind VARCHAR(10), UNIQUE KEY k (kind))")
	expectErr(t, c, 1235, "CALL lakesql_add_files('u', '"+prefix+"events.parquet')")
}

// TestVirtualFilesS3 keeps the virtual files on a second S3 server with
// credentials of its own.
func TestVirtualFilesS3(t *testing.T) {
	ext := s3test.External(t)
	ext.Put(t, "sales/a.parquet", saleFile(t, 1, 100))
	ext.Put(t, "sales/b.parquet", saleFile(t, 101, 250))
	prefix := "s3://" + ext.Bucket + "/sales/"

	var mu sync.Mutex
	env := map[string]string{}
	res := external.New(external.Config{Getenv: func(k string) string {
		mu.Lock()
		defer mu.Unlock()
		return env[k]
	}})
	c := startDB(t, serverOpts{cfg: func(cfg *lsql.Config) { cfg.External = res }})
	mustExec(t, c, "CREATE TABLE sales (id BIGINT PRIMARY KEY, region VARCHAR(10), amount DOUBLE)")
	mustExec(t, c, fmt.Sprintf(`CALL lakesql_container_create('archive', '%s', '{"endpoint": "%s", "path_style": true, "region": "us-east-1"}')`, prefix, ext.Endpoint))
	expectRows(t, c, "SELECT name, platform, endpoint, path_style, credentials FROM lakesql_containers",
		"archive s3 "+ext.Endpoint+" 1 none: reads fail until the server has them")

	// Without credentials the call names the container and the way to
	// authorize it.
	_, err := c.ExecContext(context.Background(), "CALL lakesql_add_files('sales', '"+prefix+"*.parquet')")
	if err == nil || !strings.Contains(err.Error(), `container "archive"`) || !strings.Contains(err.Error(), "LAKESQL_CONTAINER_ARCHIVE_ACCESS_KEY_ID") {
		t.Fatalf("add_files without credentials: %v", err)
	}
	// Wrong credentials: the server's refusal, with the same pointer.
	mu.Lock()
	env["LAKESQL_CONTAINER_ARCHIVE_ACCESS_KEY_ID"] = ext.AccessKeyID
	env["LAKESQL_CONTAINER_ARCHIVE_SECRET_ACCESS_KEY"] = "wrong-" + ext.SecretAccessKey
	mu.Unlock()
	_, err = c.ExecContext(context.Background(), "CALL lakesql_add_files('sales', '"+prefix+"*.parquet')")
	if err == nil || !strings.Contains(err.Error(), `container "archive"`) || strings.Contains(err.Error(), ext.SecretAccessKey) {
		t.Fatalf("add_files with wrong credentials: %v", err)
	}
	mu.Lock()
	env["LAKESQL_CONTAINER_ARCHIVE_SECRET_ACCESS_KEY"] = ext.SecretAccessKey
	mu.Unlock()
	expectRows(t, c, "CALL lakesql_add_files('sales', '"+prefix+"*.parquet')", fmt.Sprintf("2 2 250 %d", len(saleFile(t, 1, 100))+len(saleFile(t, 101, 250))))
	expectRows(t, c, "SELECT COUNT(*), SUM(id), SUM(amount) FROM sales", sums(1, 250))
	expectRows(t, c, "SELECT id, region FROM sales WHERE id = 77", "77 east")
	expectRows(t, c, "SELECT credentials FROM lakesql_containers", "the container's credentials in LAKESQL_CONTAINER_ARCHIVE_*")

	// Upsert on top, a branch and a tag, then the listing covers them all.
	mustExec(t, c, "INSERT INTO sales VALUES (1, 'w', 1), (300, 'w', 2) ON DUPLICATE KEY UPDATE amount = 99")
	mustExec(t, c, "CALL lakesql_tag('loaded', '2')")
	mustExec(t, c, "CALL lakesql_branch('dev')")
	mustExec(t, c, "CALL lakesql_flush()")
	expectRows(t, c, "SELECT COUNT(*), SUM(id) FROM sales", fmt.Sprintf("251 %d", 250*251/2+300))
	expectRows(t, c, "SELECT amount FROM sales WHERE id = 1", "99")
	expectRows(t, c, "SELECT DISTINCT url, branch FROM lakesql_external_files ORDER BY url, branch",
		prefix+"a.parquet dev", prefix+"a.parquet main", prefix+"b.parquet dev", prefix+"b.parquet main")

	// A tag on dev, then dev deleted: the tag keeps dev's files listed.
	mustExec(t, c, "USE `d/dev`")
	mustExec(t, c, "INSERT INTO sales VALUES (2000, 'dev', 1)")
	mustExec(t, c, "CALL lakesql_commit('on dev')")
	mustExec(t, c, "CALL lakesql_tag('devtag')")
	mustExec(t, c, "USE d")
	mustExec(t, c, "CALL lakesql_branch_delete('dev')")
	expectRows(t, c, "SELECT DISTINCT url, branch FROM lakesql_external_files ORDER BY url, branch",
		prefix+"a.parquet dev", prefix+"a.parquet main", prefix+"b.parquet dev", prefix+"b.parquet main")
	expectRows(t, c, "SELECT COUNT(*) FROM sales AS OF 'devtag' WHERE id < 1000 OR id = 2000", "252")
	mustExec(t, c, "CALL lakesql_branch('dev2')")

	// Merge and materialize work on them; then the original may change
	// without harm to the branch, while the old version fails by name.
	mustExec(t, c, "CALL lakesql_compact()")
	expectRows(t, c, "SELECT COUNT(*), SUM(id) FROM sales", fmt.Sprintf("251 %d", 250*251/2+300))
	mustExec(t, c, "CALL lakesql_materialize('sales')")
	expectRows(t, c, "SELECT COUNT(*), SUM(id) FROM sales", fmt.Sprintf("251 %d", 250*251/2+300))
	expectRows(t, c, "SELECT COUNT(*) FROM lakesql_files WHERE path LIKE 's3:%'", "0")
	ext.Put(t, "sales/b.parquet", saleFile(t, 101, 251))
	_, err = tryQuery(c, "SELECT SUM(id) FROM sales AS OF 2")
	if err == nil || !strings.Contains(err.Error(), prefix+"b.parquet") || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("reading an overwritten virtual file: %v", err)
	}
	expectRows(t, c, "SELECT COUNT(*) FROM sales", "251")
	// The dev branch still reads the originals: a is unchanged, b not.
	expectRows(t, c, "SELECT id FROM `d/dev2`.sales WHERE id = 50", "50")
	if _, err := tryQuery(c, "SELECT SUM(id) FROM `d/dev2`.sales"); err == nil || !strings.Contains(err.Error(), prefix+"b.parquet") {
		t.Fatalf("the dev branch read an overwritten virtual file: %v", err)
	}
}
