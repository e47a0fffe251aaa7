package sql

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/external"
	"github.com/lakesql/lakesql/txn"
)

// Virtual files (docs/virtual-files.md): containers in the _meta log,
// lakesql_add_files / lakesql_create_table_from_files / lakesql_materialize,
// and the system tables lakesql_containers and lakesql_external_files.

func init() {
	status := sql.Schema{{Name: "status", Type: types.Int64}}
	added := sql.Schema{
		{Name: "version", Type: types.Int64},
		{Name: "files", Type: types.Int64},
		{Name: "rows", Type: types.Int64},
		{Name: "bytes", Type: types.Int64},
	}
	for _, p := range []struct {
		name   string
		schema sql.Schema
		fns    []any
	}{
		{"lakesql_container_create", status, []any{procContainerCreate2, procContainerCreate3}},
		{"lakesql_container_delete", status, []any{procContainerDelete}},
		{"lakesql_add_files", added, []any{procAddFiles}},
		{"lakesql_create_table_from_files", added, []any{procCreateFromFiles}},
		{"lakesql_materialize", sql.Schema{{Name: "version", Type: types.Int64}, {Name: "files", Type: types.Int64}}, []any{procMaterialize}},
	} {
		for _, fn := range p.fns {
			procedures.Register(sql.ExternalStoredProcedureDetails{Name: p.name, Schema: p.schema, Function: fn})
		}
	}
}

// externalContainer converts a container of the log for the resolver.
func externalContainer(c *txn.Container) external.Container {
	p := c.Properties
	return external.Container{
		Name: c.Name, Prefix: c.URI, Platform: p[txn.ContainerPlatform],
		Endpoint: p[txn.ContainerEndpoint], Region: p[txn.ContainerRegion],
		PathStyle: p[txn.ContainerPathStyle] == "true", Anonymous: p[txn.ContainerAnonymous] == "true",
	}
}

// virtualOpener opens a database's virtual files through the provider's
// resolver (scan.VirtualOpener).
type virtualOpener struct {
	db  *txn.DB
	res *external.Resolver
}

func (v *virtualOpener) OpenVirtual(ctx context.Context, a *txn.Add) (store.Object, error) {
	c, exp, err := v.resolve(ctx, a)
	if err != nil {
		return nil, err
	}
	return v.res.Open(ctx, c, a.Path, exp)
}

func (v *virtualOpener) CheckVirtual(ctx context.Context, a *txn.Add) error {
	c, exp, err := v.resolve(ctx, a)
	if err != nil {
		return err
	}
	return v.res.Check(ctx, c, a.Path, exp)
}

// resolve finds the container of a virtual file and what the file must be.
func (v *virtualOpener) resolve(ctx context.Context, a *txn.Add) (external.Container, store.Expect, error) {
	var exp store.Expect
	m, err := v.db.Meta(ctx)
	if err != nil {
		return external.Container{}, exp, err
	}
	c := m.ResolveContainer(a.Path)
	if c == nil {
		if m, err = v.db.RefreshMeta(ctx); err != nil {
			return external.Container{}, exp, err
		}
		if c = m.ResolveContainer(a.Path); c == nil {
			return external.Container{}, exp, fmt.Errorf("no container covers %s (it was added through container %q): create a container for it with CALL lakesql_container_create",
				a.Path, a.Virtual.Container)
		}
	}
	exp = store.Expect{ETag: a.Virtual.ETag, Size: a.Virtual.Size}
	if a.Virtual.LastModified != 0 {
		exp.LastModified = time.UnixMilli(a.Virtual.LastModified)
	}
	return externalContainer(c), exp, nil
}

func procContainerCreate2(ctx *sql.Context, name, prefix string) (sql.RowIter, error) {
	return containerCreate(ctx, name, prefix, "")
}

func procContainerCreate3(ctx *sql.Context, name, prefix, options string) (sql.RowIter, error) {
	return containerCreate(ctx, name, prefix, options)
}

// containerCreate records a container. options is a JSON object of
// endpoint, region, path_style, anonymous (and platform, which must match
// the URL).
func containerCreate(ctx *sql.Context, name, prefix, options string) (sql.RowIter, error) {
	_, d, err := current(ctx)
	if err != nil {
		return nil, err
	}
	c := txn.Container{Name: name, URI: prefix, Properties: map[string]string{}}
	if strings.TrimSpace(options) != "" {
		var opts map[string]any
		if err := json.Unmarshal([]byte(options), &opts); err != nil {
			return nil, fmt.Errorf("lakesql_container_create: options must be a JSON object such as {\"endpoint\": \"http://127.0.0.1:9000\", \"region\": \"us-east-1\", \"path_style\": true, \"anonymous\": false}: %v", err)
		}
		for k, v := range opts {
			switch v := v.(type) {
			case string:
				c.Properties[strings.ToLower(k)] = v
			case bool:
				c.Properties[strings.ToLower(k)] = strconv.FormatBool(v)
			default:
				return nil, fmt.Errorf("lakesql_container_create: option %q must be a string or a boolean", k)
			}
		}
	}
	if err := d.st.db.CreateContainer(ctx, c); err != nil {
		return nil, procError("lakesql_container_create", err)
	}
	d.p.log.Info("container created", "database", d.st.name, "container", name, "prefix", prefix)
	return rows(int64(0))
}

func procContainerDelete(ctx *sql.Context, name string) (sql.RowIter, error) {
	_, d, err := current(ctx)
	if err != nil {
		return nil, err
	}
	if err := d.st.db.DeleteContainer(ctx, name); err != nil {
		return nil, procError("lakesql_container_delete", err)
	}
	d.p.log.Info("container deleted", "database", d.st.name, "container", name)
	return rows(int64(0))
}

// expectReader opens objects of a container checked against what a Stat
// saw, so that a file inspected is the file recorded.
type expectReader struct {
	store.Reader
	res   *external.Resolver
	c     external.Container
	infos map[string]store.Info
}

func (r *expectReader) Open(ctx context.Context, name string) (store.Object, error) {
	info := r.infos[name]
	return r.res.Open(ctx, r.c, name, store.Expect{ETag: info.ETag, Size: info.Size, LastModified: info.LastModified})
}

func procAddFiles(ctx *sql.Context, table, pattern string) (sql.RowIter, error) {
	return addFiles(ctx, "lakesql_add_files", table, pattern, false)
}

func procCreateFromFiles(ctx *sql.Context, table, pattern string) (sql.RowIter, error) {
	return addFiles(ctx, "lakesql_create_table_from_files", table, pattern, true)
}

// addFiles registers the Parquet files pattern matches (a URL, or a glob
// of them) as data of table in one version; create makes the table first,
// with the first file's schema and no primary key.
func addFiles(ctx *sql.Context, proc, table, pattern string, create bool) (sql.RowIter, error) {
	d, w, err := committedWriter(ctx)
	if err != nil {
		return nil, err
	}
	meta, err := d.st.db.RefreshMeta(ctx)
	if err != nil {
		return nil, translate(err)
	}
	c := meta.ResolveContainer(pattern)
	if c == nil {
		return nil, fmt.Errorf("%s: no container covers %s: declare the place first with CALL lakesql_container_create('name', 'url_prefix/')", proc, pattern)
	}
	res := d.p.external()
	ec := externalContainer(c)
	infos, err := res.Glob(ctx, ec, pattern)
	if err != nil {
		return nil, procError(proc, err)
	}
	if len(infos) == 0 {
		return nil, fmt.Errorf("%s: no file matches %s", proc, pattern)
	}
	byName := map[string]store.Info{}
	for i := range infos {
		if ec.Platform == "file" {
			// A local file is checked by size and time: its ETag would
			// be a hash of the whole file, computed at every open.
			infos[i].ETag = ""
		}
		byName[infos[i].Name] = infos[i]
	}
	rd := &expectReader{res: res, c: ec, infos: byName}
	if create {
		cols, err := parquetio.InferSchema(ctx, rd, infos[0].Name)
		if err != nil {
			return nil, procError(proc, err)
		}
		if err := d.createInferred(ctx, table, cols); err != nil {
			return nil, err
		}
	}
	ts := findTable(w.Head().State, table)
	if ts == nil {
		return nil, sql.ErrTableNotFound.New(table)
	}
	for _, ix := range ts.Meta.Indexes {
		if ix.Unique {
			return nil, mysql.NewSQLError(mysql.ERNotSupportedYet, "42000",
				"%s: table %s has the UNIQUE index %s, which added files are not checked against yet: drop the index, or add the files to another table and copy them with INSERT ... SELECT", proc, table, ix.Name)
		}
	}
	keyCols := ts.Meta.Key
	if kc := ts.Meta.Schema.ColumnByID(keyCols[0]); len(keyCols) == 1 && kc != nil && kc.Hidden {
		keyCols = nil
	}
	var files []memwal.VirtualFile
	var totalRows, totalBytes int64
	start := time.Now()
	for i, info := range infos {
		if ts.File(info.Name) != nil {
			return nil, fmt.Errorf("%s: %s is a file of table %s already", proc, info.Name, table)
		}
		fi, err := parquetio.InspectForeign(ctx, rd, info.Name, &ts.Meta.Schema, keyCols)
		if err != nil {
			return nil, procError(proc, err)
		}
		a := txn.Add{Table: ts.Meta.ID, Path: info.Name, Kind: txn.KindBase, Rows: fi.Stats.Rows, Bytes: info.Size,
			Virtual: &txn.Virtual{Container: c.Name, ETag: info.ETag, Size: info.Size}}
		if !info.LastModified.IsZero() {
			a.Virtual.LastModified = info.LastModified.UnixMilli()
		}
		for _, fc := range fi.Columns {
			a.Virtual.Columns = append(a.Virtual.Columns, txn.VirtualColumn{Name: fc.Name, ID: fc.ID})
		}
		if js, err := json.Marshal(fi.Stats.Columns); err == nil {
			a.Stats = js
		}
		if fi.Stats.KeyMin != nil {
			lo, _ := json.Marshal(fi.Stats.KeyMin)
			hi, _ := json.Marshal(fi.Stats.KeyMax)
			a.KeyRange = &txn.KeyRange{Min: lo, Max: hi}
		}
		files = append(files, memwal.VirtualFile{Add: a, Keys: fi.Keys})
		totalRows += a.Rows
		totalBytes += a.Bytes
		d.p.log.Info("file inspected", "database", d.st.name, "table", table, "file", info.Name, "rows", a.Rows,
			"done", i+1, "of", len(infos))
	}
	snap, err := w.AddFiles(ctx, ts.Meta.ID, files, memwal.BulkOptions{Operation: "ADD FILES", Version: true, User: userOf(ctx),
		Message: fmt.Sprintf("%s(%s, %s)", proc, table, pattern)})
	if err != nil {
		return nil, procError(proc, err)
	}
	d.p.log.Info("files added", "database", d.st.name, "branch", d.branch, "table", table, "files", len(files),
		"rows", totalRows, "bytes", totalBytes, "version", snap.Version(), "took", time.Since(start).Round(time.Millisecond))
	return rows(snap.Version(), int64(len(files)), totalRows, totalBytes)
}

// createInferred creates a table without a primary key whose columns are
// cols.
func (d *Database) createInferred(ctx *sql.Context, name string, cols []base.Column) error {
	var sch sql.Schema
	for _, c := range cols {
		t, err := base.ParseType(c.Type)
		if err != nil {
			return err
		}
		st, err := sqlType(t)
		if err != nil {
			return translate(err)
		}
		sch = append(sch, &sql.Column{Name: c.Name, Type: st, Nullable: c.Nullable, Source: name})
	}
	return d.CreateTable(ctx, name, sql.NewPrimaryKeySchema(sch), sql.Collation_Default, "")
}

func procMaterialize(ctx *sql.Context, table string) (sql.RowIter, error) {
	d, w, err := committedWriter(ctx)
	if err != nil {
		return nil, err
	}
	ts := findTable(w.Head().State, table)
	if ts == nil {
		return nil, sql.ErrTableNotFound.New(table)
	}
	start := time.Now()
	n, err := w.Materialize(ctx, ts.Meta.ID, userOf(ctx))
	if err != nil {
		return nil, procError("lakesql_materialize", err)
	}
	v := w.Head().Version()
	d.p.log.Info("materialized", "database", d.st.name, "branch", d.branch, "table", table, "files", n,
		"version", v, "took", time.Since(start).Round(time.Millisecond))
	return rows(v, int64(n))
}

// virtualSystemTable returns the system tables of virtual files.
func (d *Database) virtualSystemTable(lname string) (sql.Table, bool) {
	switch lname {
	case "lakesql_containers":
		return &systemTable{name: lname, schema: schemaOf(lname,
			&sql.Column{Name: "name", Type: varchar(255)},
			&sql.Column{Name: "url_prefix", Type: varchar(1024)},
			&sql.Column{Name: "platform", Type: varchar(16)},
			&sql.Column{Name: "endpoint", Type: varchar(1024)},
			&sql.Column{Name: "region", Type: varchar(64)},
			&sql.Column{Name: "path_style", Type: types.Boolean},
			&sql.Column{Name: "anonymous", Type: types.Boolean},
			&sql.Column{Name: "credentials", Type: varchar(255)},
		), rows: d.metaRows(func(ctx *sql.Context, meta *txn.MetaState) []sql.Row {
			var out []sql.Row
			for _, c := range meta.Containers() {
				ec := externalContainer(c)
				out = append(out, sql.NewRow(c.Name, c.URI, ec.Platform, ec.Endpoint, ec.Region,
					boolInt(ec.PathStyle), boolInt(ec.Anonymous), d.p.external().CredentialSource(ec)))
			}
			return out
		})}, true
	case "lakesql_external_files":
		return &systemTable{name: lname, schema: schemaOf(lname,
			&sql.Column{Name: "url", Type: varchar(2048)},
			&sql.Column{Name: "container", Type: varchar(255)},
			&sql.Column{Name: "branch", Type: varchar(255)},
			&sql.Column{Name: "table_name", Type: varchar(255)},
			&sql.Column{Name: "bytes", Type: types.Int64},
			&sql.Column{Name: "etag", Type: varchar(255)},
			&sql.Column{Name: "added_version", Type: types.Int64},
			&sql.Column{Name: "first_version", Type: types.Int64},
			&sql.Column{Name: "last_version", Type: types.Int64},
		), rows: func(ctx *sql.Context) ([]sql.Row, error) {
			files, err := d.st.db.ExternalFiles(ctx)
			if err != nil {
				return nil, translate(err)
			}
			out := make([]sql.Row, 0, len(files))
			for _, f := range files {
				container := any(f.Container)
				if f.Container == "" {
					container = nil
				}
				out = append(out, sql.NewRow(f.URL, container, f.Branch, f.Table, f.Bytes, f.ETag,
					f.AddedVersion, f.FirstVersion, f.LastVersion))
			}
			return out, nil
		}}, true
	}
	return nil, false
}
