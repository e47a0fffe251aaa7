package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"

	"github.com/lakesql/lakesql/store"
)

// parquetSource is a Parquet file being imported: a flat schema (no
// groups, no repeated fields) whose column types map to SQL types:
//
//	BOOLEAN                          BOOLEAN
//	INT32, INT64 (INT(8..64, signed))  TINYINT..BIGINT [UNSIGNED]
//	FLOAT, DOUBLE                    FLOAT, DOUBLE
//	DECIMAL(p,s)                     DECIMAL(p,s)
//	STRING, ENUM / JSON              TEXT / JSON
//	BYTE_ARRAY                       BLOB
//	FIXED_LEN_BYTE_ARRAY(n), UUID    BINARY(n)
//	DATE                             DATE
//	TIMESTAMP(unit, UTC / local)     TIMESTAMP(p) / DATETIME(p), p 3 or 6
//	TIME(unit)                       TIME(p)
//	INT96 (legacy timestamps)        DATETIME(6)
//
// Required columns are NOT NULL. Rows are read row group by row group,
// 1024 at a time.
type parquetSource struct {
	f     store.Object
	pf    *parquet.File
	cols  []srcColumn
	convs []func(parquet.Value) any
	rg    int
	rows  parquet.Rows
	buf   []parquet.Row
	n, i  int   // rows in buf, the next one
	read  int64 // rows read
}

func newParquetSource(path string) (*parquetSource, error) {
	f, err := fileReader{path}.Open(context.Background(), filepath.Base(path))
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, f.Size(), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("not a Parquet file: %w", err)
	}
	s := &parquetSource{f: f, pf: pf, buf: make([]parquet.Row, 1024)}
	for _, fld := range pf.Schema().Fields() {
		c, conv, err := parquetColumn(fld)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("column %s: %w", fld.Name(), err)
		}
		s.cols = append(s.cols, c)
		s.convs = append(s.convs, conv)
	}
	if len(s.cols) == 0 {
		f.Close()
		return nil, errors.New("the file has no columns")
	}
	return s, nil
}

func (s *parquetSource) columns() []srcColumn { return s.cols }

// rowBatch is a batch of rows: width values per row (nil for NULL), the
// first of them row first (1-based) of the file.
type rowBatch struct {
	vals  []any
	first int64
}

// batchRows is how many rows a batch holds.
const batchRows = 16 << 10

// produce reads every row into batches and sends them in order; it returns
// when send refuses one (the consumer stopped), at the end, or at the first
// error (after sending the rows before it).
func (s *parquetSource) produce(send func(*rowBatch) bool) error {
	w := len(s.cols)
	for {
		b := &rowBatch{vals: make([]any, 0, w*batchRows), first: s.read + 1}
		for len(b.vals) < w*batchRows {
			for s.i >= s.n {
				if err := s.fill(); err != nil {
					if len(b.vals) > 0 && !send(b) {
						return nil
					}
					if err == io.EOF {
						return nil
					}
					return err
				}
			}
			r := s.buf[s.i]
			s.i++
			s.read++
			if len(r) != w {
				return fmt.Errorf("row %d has %d values for %d columns", s.read, len(r), w)
			}
			row := b.vals[len(b.vals) : len(b.vals)+w]
			for _, v := range r {
				if c := v.Column(); !v.IsNull() {
					row[c] = s.convs[c](v)
				}
			}
			b.vals = b.vals[:len(b.vals)+w]
		}
		if !send(b) {
			return nil
		}
	}
}

// fill reads the next rows into buf.
func (s *parquetSource) fill() error {
	for {
		if s.rows == nil {
			rgs := s.pf.RowGroups()
			if s.rg >= len(rgs) {
				return io.EOF
			}
			s.rows = rgs[s.rg].Rows()
			s.rg++
		}
		n, err := s.rows.ReadRows(s.buf)
		if n > 0 {
			s.n, s.i = n, 0
			return nil
		}
		if err == io.EOF || err == nil {
			s.rows.Close()
			s.rows = nil
			continue
		}
		return err
	}
}

// total is the file's row count.
func (s *parquetSource) total() int64 { return s.pf.NumRows() }

func (s *parquetSource) close() error {
	if s.rows != nil {
		s.rows.Close()
	}
	return s.f.Close()
}

// parquetColumn maps a top-level field to a SQL column and a converter of
// its values to what the bulk loader takes.
func parquetColumn(f parquet.Field) (srcColumn, func(parquet.Value) any, error) {
	c := srcColumn{name: f.Name(), nullable: f.Optional()}
	if !f.Leaf() {
		return c, nil, errors.New("nested groups (structs, lists, maps) cannot be imported")
	}
	if f.Repeated() {
		return c, nil, errors.New("repeated fields (lists) cannot be imported")
	}
	t := f.Type()
	kind := t.Kind()
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	var ct deprecated.ConvertedType = -1
	if p := t.ConvertedType(); p != nil {
		ct = *p
	}
	str := func(v parquet.Value) any { return string(v.ByteArray()) }
	switch x := lt.(type) {
	case *format.StringType, *format.EnumType:
		c.typ = "TEXT"
		return c, str, nil
	case *format.JsonType:
		c.typ = "JSON"
		return c, str, nil
	case *format.UUIDType:
		c.typ = "BINARY(16)"
		return c, func(v parquet.Value) any { return v.Bytes() }, nil
	case *format.DecimalType:
		c.typ = fmt.Sprintf("DECIMAL(%d,%d)", x.Precision, x.Scale)
		return c, decimalReader(kind, int(x.Scale)), nil
	case *format.DateType:
		c.typ = "DATE"
		return c, func(v parquet.Value) any { return time.Unix(int64(v.Int32())*86400, 0).UTC() }, nil
	case *format.TimestampType:
		name := "DATETIME"
		if x.IsAdjustedToUTC {
			name = "TIMESTAMP"
		}
		conv, prec := timeUnit(&x.Unit)
		c.typ = fmt.Sprintf("%s(%d)", name, prec)
		return c, func(v parquet.Value) any { return time.Unix(0, conv(v.Int64())).UTC() }, nil
	case *format.TimeType:
		conv, prec := timeUnit(&x.Unit)
		c.typ = fmt.Sprintf("TIME(%d)", prec)
		if kind == parquet.Int32 {
			return c, func(v parquet.Value) any { return time.Duration(conv(int64(v.Int32()))) }, nil
		}
		return c, func(v parquet.Value) any { return time.Duration(conv(v.Int64())) }, nil
	case *format.IntType:
		return intColumn(c, kind, int(x.BitWidth), x.IsSigned)
	case nil:
	default:
		return c, nil, fmt.Errorf("the Parquet type %s has no SQL counterpart in lakesql", x)
	}
	switch ct {
	case deprecated.UTF8, deprecated.Enum:
		c.typ = "TEXT"
		return c, str, nil
	case deprecated.Json:
		c.typ = "JSON"
		return c, str, nil
	case deprecated.Date:
		c.typ = "DATE"
		return c, func(v parquet.Value) any { return time.Unix(int64(v.Int32())*86400, 0).UTC() }, nil
	case deprecated.TimestampMillis:
		c.typ = "DATETIME(3)"
		return c, func(v parquet.Value) any { return time.UnixMilli(v.Int64()).UTC() }, nil
	case deprecated.TimestampMicros:
		c.typ = "DATETIME(6)"
		return c, func(v parquet.Value) any { return time.UnixMicro(v.Int64()).UTC() }, nil
	case deprecated.Int8, deprecated.Int16, deprecated.Int32, deprecated.Int64:
		return intColumn(c, kind, 8<<(ct-deprecated.Int8), true)
	case deprecated.Uint8, deprecated.Uint16, deprecated.Uint32, deprecated.Uint64:
		return intColumn(c, kind, 8<<(ct-deprecated.Uint8), false)
	}
	switch kind {
	case parquet.Boolean:
		c.typ = "BOOLEAN"
		return c, func(v parquet.Value) any { return v.Boolean() }, nil
	case parquet.Int32:
		return intColumn(c, kind, 32, true)
	case parquet.Int64:
		return intColumn(c, kind, 64, true)
	case parquet.Float:
		c.typ = "FLOAT"
		return c, func(v parquet.Value) any { return v.Float() }, nil
	case parquet.Double:
		c.typ = "DOUBLE"
		return c, func(v parquet.Value) any { return v.Double() }, nil
	case parquet.ByteArray:
		c.typ = "BLOB"
		return c, func(v parquet.Value) any { return v.Bytes() }, nil
	case parquet.FixedLenByteArray:
		c.typ = fmt.Sprintf("BINARY(%d)", t.Length())
		return c, func(v parquet.Value) any { return v.Bytes() }, nil
	case parquet.Int96:
		c.typ = "DATETIME(6)"
		return c, func(v parquet.Value) any { return int96Time(v.Int96()) }, nil
	}
	return c, nil, fmt.Errorf("the Parquet type %s has no SQL counterpart in lakesql", t)
}

func intColumn(c srcColumn, kind parquet.Kind, bits int, signed bool) (srcColumn, func(parquet.Value) any, error) {
	names := map[int]string{8: "TINYINT", 16: "SMALLINT", 32: "INT", 64: "BIGINT"}
	name, ok := names[bits]
	if !ok {
		return c, nil, fmt.Errorf("an integer of %d bits", bits)
	}
	c.typ = name
	if !signed {
		c.typ += " UNSIGNED"
	}
	switch {
	case kind == parquet.Int32 && signed:
		return c, func(v parquet.Value) any { return int64(v.Int32()) }, nil
	case kind == parquet.Int32:
		return c, func(v parquet.Value) any { return uint64(v.Uint32()) }, nil
	case signed:
		return c, func(v parquet.Value) any { return v.Int64() }, nil
	}
	return c, func(v parquet.Value) any { return v.Uint64() }, nil
}

// timeUnit returns a converter of a unit's values to nanoseconds and the
// SQL fractional-seconds precision that holds them.
func timeUnit(u *format.TimeUnit) (func(int64) int64, int) {
	switch u.Value.(type) {
	case *format.MilliSeconds:
		return func(n int64) int64 { return n * 1e6 }, 3
	case *format.NanoSeconds:
		return func(n int64) int64 { return n }, 6
	}
	return func(n int64) int64 { return n * 1e3 }, 6
}

// decimalReader reads an unscaled decimal (INT32, INT64 or big-endian
// two's complement bytes) as its literal, which the loader parses exactly.
func decimalReader(kind parquet.Kind, scale int) func(parquet.Value) any {
	lit := func(digits string) any {
		neg := strings.HasPrefix(digits, "-")
		digits = strings.TrimPrefix(digits, "-")
		if scale > 0 {
			if len(digits) <= scale {
				digits = strings.Repeat("0", scale-len(digits)+1) + digits
			}
			digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
		}
		if neg {
			digits = "-" + digits
		}
		return digits
	}
	switch kind {
	case parquet.Int32:
		return func(v parquet.Value) any { return lit(strconv.FormatInt(int64(v.Int32()), 10)) }
	case parquet.Int64:
		return func(v parquet.Value) any { return lit(strconv.FormatInt(v.Int64(), 10)) }
	}
	return func(v parquet.Value) any {
		b := v.ByteArray()
		n := new(big.Int).SetBytes(b)
		if len(b) > 0 && b[0]&0x80 != 0 { // negative: subtract 2^(8 len)
			n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
		return lit(n.String())
	}
}

// int96Time reads a legacy INT96 timestamp: nanoseconds of the day and a
// Julian day number.
func int96Time(i deprecated.Int96) time.Time {
	nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
	days := int64(i[2]) - 2440588 // the Julian day of 1970-01-01
	return time.Unix(days*86400, nanos).UTC()
}

// fileReader is a store.Reader of one local file, the Parquet file an
// import reads. Unlike store/local it leaves the ETag empty: the local store
// hashes a file it did not write to make one, a second read of the whole
// file that an import does not need.
type fileReader struct{ path string }

func (r fileReader) Open(ctx context.Context, name string) (store.Object, error) {
	if name != filepath.Base(r.path) {
		return nil, store.ErrNotExist
	}
	f, err := os.Open(r.path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return fileObject{f, store.Info{Name: name, Size: st.Size(), LastModified: st.ModTime()}}, nil
}

func (r fileReader) Stat(ctx context.Context, name string) (store.Info, error) {
	o, err := r.Open(ctx, name)
	if err != nil {
		return store.Info{}, err
	}
	defer o.Close()
	return o.Info(), nil
}

func (r fileReader) List(ctx context.Context, prefix, startAfter string) iter.Seq2[store.Info, error] {
	return func(yield func(store.Info, error) bool) {
		info, err := r.Stat(ctx, filepath.Base(r.path))
		if err == nil && strings.HasPrefix(info.Name, prefix) && info.Name > startAfter {
			yield(info, nil)
		}
	}
}

type fileObject struct {
	*os.File
	info store.Info
}

func (o fileObject) Size() int64      { return o.info.Size }
func (o fileObject) Info() store.Info { return o.info }
