package parquetio

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
)

// class is how values of a column are compared.
type class uint8

const (
	clsInt   class = iota // signed integers, DATE, DATETIME, TIMESTAMP, TIME, BOOLEAN (0/1)
	clsUint               // unsigned integers
	clsFloat              // FLOAT, DOUBLE: NaN sorts above every number and equals itself
	clsBytes              // strings and byte strings, bytewise
	clsDec                // DECIMAL, by unscaled value at the column's scale
)

func (c *column) class() class {
	switch {
	case c.typ.IsUnsigned():
		return clsUint
	case c.typ.Kind == base.TypeFloat32 || c.typ.Kind == base.TypeFloat64:
		return clsFloat
	case c.typ.IsString() || c.typ.IsBinary():
		return clsBytes
	case c.typ.Kind == base.TypeDecimal:
		return clsDec
	default:
		return clsInt
	}
}

// scalar is one value normalized for its column's class.
type scalar struct {
	null bool
	i    int64
	u    uint64
	f    float64
	s    string
	d    decimal256.Num
}

// cmpScalar compares two non-null scalars of class cls.
func cmpScalar(cls class, a, b scalar) int {
	switch cls {
	case clsInt:
		return cmpOrdered(a.i, b.i)
	case clsUint:
		return cmpOrdered(a.u, b.u)
	case clsFloat:
		return cmpFloat(a.f, b.f)
	case clsBytes:
		return strings.Compare(a.s, b.s)
	default:
		return a.d.Cmp(b.d)
	}
}

func cmpOrdered[T int64 | uint64 | int32](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpFloat orders floats with NaN above every number and equal to itself.
func cmpFloat(a, b float64) int {
	an, bn := a != a, b != b
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// toScalar converts a Go value to a scalar of c's type. nil is NULL.
// Accepted: Go integers and floats for numeric columns, string /
// decimal128.Num / decimal256.Num (unscaled) / integers for DECIMAL, string
// or []byte for strings and byte strings, arrow.Date32 or time.Time for
// DATE, arrow.Timestamp (µs) or time.Time for DATETIME and TIMESTAMP,
// arrow.Duration (µs) or time.Duration for TIME, bool for BOOLEAN.
func toScalar(c *column, v any) (scalar, error) {
	if v == nil {
		return scalar{null: true}, nil
	}
	bad := func() (scalar, error) {
		return scalar{}, fmt.Errorf("parquetio: value %v (%T) does not fit column %q %s", v, v, c.col.Name, c.typ)
	}
	signed, isSigned := base.AsInt64(v)
	unsigned, isUnsigned := base.AsUint64(v)
	switch c.typ.Kind {
	case base.TypeInt8, base.TypeInt16, base.TypeInt32, base.TypeInt64:
		if !isSigned {
			return bad()
		}
		lo, hi := intRange(c.typ.Kind)
		if signed < lo || signed > hi {
			return bad()
		}
		return scalar{i: signed}, nil
	case base.TypeUint8, base.TypeUint16, base.TypeUint32, base.TypeUint64:
		if !isUnsigned {
			return bad()
		}
		if unsigned > uintMax(c.typ.Kind) {
			return bad()
		}
		return scalar{u: unsigned}, nil
	case base.TypeFloat32, base.TypeFloat64:
		switch x := v.(type) {
		case float64:
			return scalar{f: x}, nil
		case float32:
			return scalar{f: float64(x)}, nil
		}
		if isSigned {
			return scalar{f: float64(signed)}, nil
		}
		if isUnsigned {
			return scalar{f: float64(unsigned)}, nil
		}
		return bad()
	case base.TypeDecimal:
		n, ok, err := DecimalValue(v, c.typ)
		if err != nil {
			return scalar{}, fmt.Errorf("parquetio: column %q: %w", c.col.Name, err)
		}
		if !ok {
			return bad()
		}
		return scalar{d: n}, nil
	case base.TypeChar, base.TypeVarchar, base.TypeText, base.TypeJSON, base.TypeBinary, base.TypeVarbinary, base.TypeBlob:
		switch x := v.(type) {
		case string:
			return scalar{s: x}, nil
		case []byte:
			return scalar{s: string(x)}, nil
		}
		return bad()
	case base.TypeDate:
		switch x := v.(type) {
		case arrow.Date32:
			return scalar{i: int64(x)}, nil
		case time.Time:
			return scalar{i: int64(arrow.Date32FromTime(x))}, nil
		}
		return bad()
	case base.TypeDatetime, base.TypeTimestamp:
		switch x := v.(type) {
		case arrow.Timestamp:
			return scalar{i: int64(x)}, nil
		case time.Time:
			if c.typ.Kind == base.TypeDatetime {
				// Wall clock: the fields as written, whatever the zone.
				x = time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC)
			}
			return scalar{i: x.UnixMicro()}, nil
		}
		return bad()
	case base.TypeTime:
		switch x := v.(type) {
		case arrow.Duration:
			return scalar{i: int64(x)}, nil
		case time.Duration:
			return scalar{i: x.Microseconds()}, nil
		}
		return bad()
	case base.TypeBool:
		if x, ok := v.(bool); ok {
			if x {
				return scalar{i: 1}, nil
			}
			return scalar{i: 0}, nil
		}
		return bad()
	}
	return bad()
}

func intRange(k base.TypeKind) (int64, int64) {
	switch k {
	case base.TypeInt8:
		return math.MinInt8, math.MaxInt8
	case base.TypeInt16:
		return math.MinInt16, math.MaxInt16
	case base.TypeInt32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

func uintMax(k base.TypeKind) uint64 {
	switch k {
	case base.TypeUint8:
		return math.MaxUint8
	case base.TypeUint16:
		return math.MaxUint16
	case base.TypeUint32:
		return math.MaxUint32
	}
	return math.MaxUint64
}

// DecimalValue converts v (a decimal literal string, a decimal128 or
// decimal256 unscaled value, or a Go integer) to the unscaled value of
// DECIMAL type t. ok is false when v is not a decimal or does not fit t's
// precision; err reports a malformed literal.
func DecimalValue(v any, t base.Type) (n decimal256.Num, ok bool, err error) {
	switch x := v.(type) {
	case string:
		if n, err = ParseDecimal(x, t.Precision, t.Scale); err != nil {
			return n, false, err
		}
	case decimal128.Num:
		n = decimal256.FromDecimal128(x)
	case decimal256.Num:
		n = x
	default:
		i, isInt := base.AsInt64(v)
		if !isInt {
			return n, false, nil
		}
		n = decimal256.FromI64(i).Mul(decimal256.GetScaleMultiplier(t.Scale))
	}
	return n, n.FitsInPrecision(int32(t.Precision)), nil
}

// ParseDecimal parses a decimal literal exactly to its unscaled value at
// scale; more fractional digits than scale, or more digits than precision,
// is an error.
func ParseDecimal(s string, precision, scale int) (decimal256.Num, error) {
	t := strings.TrimSpace(s)
	neg := false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-'
		t = t[1:]
	}
	ip, fp, _ := strings.Cut(t, ".")
	if ip == "" && fp == "" {
		return decimal256.Num{}, fmt.Errorf("bad decimal %q", s)
	}
	fp = strings.TrimRight(fp, "0")
	if len(fp) > scale {
		return decimal256.Num{}, fmt.Errorf("decimal %q has more than %d fractional digits", s, scale)
	}
	digits := ip + fp + strings.Repeat("0", scale-len(fp))
	for _, r := range digits {
		if r < '0' || r > '9' {
			return decimal256.Num{}, fmt.Errorf("bad decimal %q", s)
		}
	}
	var b big.Int
	if digits == "" {
		digits = "0"
	}
	b.SetString(digits, 10)
	if neg {
		b.Neg(&b)
	}
	if len(strings.TrimLeft(b.String(), "-")) > precision && b.Sign() != 0 {
		return decimal256.Num{}, fmt.Errorf("decimal %q does not fit DECIMAL(%d,%d)", s, precision, scale)
	}
	return decimal256.FromBigInt(&b), nil
}

// formatDecimal spells an unscaled decimal at scale exactly.
func formatDecimal(n decimal256.Num, scale int) string {
	b := n.BigInt()
	neg := b.Sign() < 0
	digits := new(big.Int).Abs(b).String()
	if scale > 0 {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

const (
	dateLayout     = "2006-01-02"
	datetimeLayout = "2006-01-02 15:04:05.999999"
)

// jsonValue returns a non-null scalar of c as a JSON-friendly value: a
// number for integers and finite floats ("NaN", "+Inf", "-Inf" as
// strings), a string for strings, decimals ("-12.50"), dates
// ("2024-01-31"), DATETIME and TIMESTAMP ("2024-01-31 12:00:00.5", UTC) and
// TIME ("-12:00:01.5"), base64 for byte strings, a bool for BOOLEAN.
func jsonValue(c *column, v scalar) any {
	if v.null {
		return nil
	}
	switch c.typ.Kind {
	case base.TypeInt8, base.TypeInt16, base.TypeInt32, base.TypeInt64:
		return v.i
	case base.TypeUint8, base.TypeUint16, base.TypeUint32, base.TypeUint64:
		return v.u
	case base.TypeFloat32, base.TypeFloat64:
		switch {
		case math.IsNaN(v.f):
			return "NaN"
		case math.IsInf(v.f, 1):
			return "+Inf"
		case math.IsInf(v.f, -1):
			return "-Inf"
		}
		return v.f
	case base.TypeDecimal:
		return formatDecimal(v.d, c.typ.Scale)
	case base.TypeBinary, base.TypeVarbinary, base.TypeBlob:
		return base64.StdEncoding.EncodeToString([]byte(v.s))
	case base.TypeDate:
		return arrow.Date32(v.i).ToTime().Format(dateLayout)
	case base.TypeDatetime, base.TypeTimestamp:
		return time.UnixMicro(v.i).UTC().Format(datetimeLayout)
	case base.TypeTime:
		return formatTime(v.i)
	case base.TypeBool:
		return v.i != 0
	}
	return v.s
}

func formatTime(us int64) string {
	sign := ""
	if us < 0 {
		sign, us = "-", -us
	}
	h, m, s, f := us/3600e6, us/60e6%60, us/1e6%60, us%1e6
	out := fmt.Sprintf("%s%02d:%02d:%02d", sign, h, m, s)
	if f != 0 {
		out += strings.TrimRight(fmt.Sprintf(".%06d", f), "0")
	}
	return out
}

// parseLiteral parses a column default, a SQL literal, to a scalar of c's
// type: NULL, numbers, 'quoted strings' (” escapes a quote), X'hex' for
// byte strings, TRUE / FALSE, and quoted dates, datetimes and times.
func parseLiteral(c *column, lit string) (scalar, error) {
	s := strings.TrimSpace(lit)
	bad := func(err error) (scalar, error) {
		return scalar{}, fmt.Errorf("parquetio: default %q of column %q %s: %v", lit, c.col.Name, c.typ, err)
	}
	if strings.EqualFold(s, "NULL") {
		return scalar{null: true}, nil
	}
	quoted := false
	if len(s) >= 3 && (s[0] == 'x' || s[0] == 'X') && s[1] == '\'' && s[len(s)-1] == '\'' {
		b, err := hex.DecodeString(s[2 : len(s)-1])
		if err != nil {
			return bad(err)
		}
		return toScalar(c, b)
	}
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		q := string(s[0])
		s = strings.ReplaceAll(s[1:len(s)-1], q+q, q)
		s = strings.ReplaceAll(s, `\\`, `\`)
		quoted = true
	}
	switch c.typ.Kind {
	case base.TypeInt8, base.TypeInt16, base.TypeInt32, base.TypeInt64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return bad(err)
		}
		return toScalar(c, n)
	case base.TypeUint8, base.TypeUint16, base.TypeUint32, base.TypeUint64:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return bad(err)
		}
		return toScalar(c, n)
	case base.TypeFloat32, base.TypeFloat64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return bad(err)
		}
		if c.typ.Kind == base.TypeFloat32 {
			f = float64(float32(f))
		}
		return toScalar(c, f)
	case base.TypeDecimal:
		return toScalar(c, s)
	case base.TypeDate:
		t, err := time.Parse(dateLayout, s)
		if err != nil {
			return bad(err)
		}
		return toScalar(c, t)
	case base.TypeDatetime, base.TypeTimestamp:
		t, err := time.Parse("2006-01-02 15:04:05.999999999", s)
		if err != nil {
			if t, err = time.Parse(dateLayout, s); err != nil {
				return bad(err)
			}
		}
		return toScalar(c, t)
	case base.TypeTime:
		us, err := parseTime(s)
		if err != nil {
			return bad(err)
		}
		return scalar{i: us}, nil
	case base.TypeBool:
		switch strings.ToUpper(s) {
		case "TRUE", "1":
			return scalar{i: 1}, nil
		case "FALSE", "0":
			return scalar{i: 0}, nil
		}
		return bad(fmt.Errorf("not a boolean"))
	}
	if !quoted && c.typ.IsString() {
		return bad(fmt.Errorf("a string default must be quoted"))
	}
	return toScalar(c, s)
}

func parseTime(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var frac int64
	if main, f, ok := strings.Cut(s, "."); ok {
		s = main
		f = (f + "000000")[:6]
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		frac = n
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("bad TIME %q", s)
	}
	var hms [3]int64
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return 0, err
		}
		hms[i] = n
	}
	us := ((hms[0]*60+hms[1])*60+hms[2])*1e6 + frac
	if neg {
		us = -us
	}
	return us, nil
}

// scalarAt reads element i (not null) of arr, an array of column c.
func scalarAt(c *column, arr arrow.Array, i int) scalar {
	if arr.IsNull(i) {
		return scalar{null: true}
	}
	switch a := arr.(type) {
	case *array.Dictionary:
		v := newDictView(a.Data().Dictionary())
		j := a.GetValueIndex(i)
		if v.null(j) {
			return scalar{null: true}
		}
		return scalar{s: string(v.at(j))}
	case *array.Int8:
		return scalar{i: int64(a.Value(i))}
	case *array.Int16:
		return scalar{i: int64(a.Value(i))}
	case *array.Int32:
		return scalar{i: int64(a.Value(i))}
	case *array.Int64:
		return scalar{i: a.Value(i)}
	case *array.Uint8:
		return scalar{u: uint64(a.Value(i))}
	case *array.Uint16:
		return scalar{u: uint64(a.Value(i))}
	case *array.Uint32:
		return scalar{u: uint64(a.Value(i))}
	case *array.Uint64:
		return scalar{u: a.Value(i)}
	case *array.Float32:
		return scalar{f: float64(a.Value(i))}
	case *array.Float64:
		return scalar{f: a.Value(i)}
	case *array.Decimal128:
		return scalar{d: decimal256.FromDecimal128(a.Value(i))}
	case *array.Decimal256:
		return scalar{d: a.Value(i)}
	case *array.String:
		return scalar{s: a.Value(i)}
	case *array.Binary:
		return scalar{s: string(a.Value(i))}
	case *array.Date32:
		return scalar{i: int64(a.Value(i))}
	case *array.Timestamp:
		return scalar{i: int64(a.Value(i))}
	case *array.Duration:
		return scalar{i: int64(a.Value(i))}
	case *array.Boolean:
		if a.Value(i) {
			return scalar{i: 1}
		}
		return scalar{}
	}
	panic(fmt.Sprintf("parquetio: unexpected array %T for column %q", arr, c.col.Name))
}

// constArray returns an array of n copies of v, of c's Arrow type.
func constArray(alloc memory.Allocator, c *column, v scalar, n int) arrow.Array {
	b := array.NewBuilder(alloc, c.arrow)
	defer b.Release()
	b.Reserve(n)
	for range n {
		appendScalar(b, v)
	}
	return b.NewArray()
}

func appendScalar(b array.Builder, v scalar) {
	if v.null {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.Int8Builder:
		b.Append(int8(v.i))
	case *array.Int16Builder:
		b.Append(int16(v.i))
	case *array.Int32Builder:
		b.Append(int32(v.i))
	case *array.Int64Builder:
		b.Append(v.i)
	case *array.Uint8Builder:
		b.Append(uint8(v.u))
	case *array.Uint16Builder:
		b.Append(uint16(v.u))
	case *array.Uint32Builder:
		b.Append(uint32(v.u))
	case *array.Uint64Builder:
		b.Append(v.u)
	case *array.Float32Builder:
		b.Append(float32(v.f))
	case *array.Float64Builder:
		b.Append(v.f)
	case *array.Decimal128Builder:
		a := v.d.Array()
		b.Append(decimal128.New(int64(a[1]), a[0]))
	case *array.Decimal256Builder:
		b.Append(v.d)
	case *array.StringBuilder:
		b.Append(v.s)
	case *array.BinaryBuilder:
		b.Append([]byte(v.s))
	case *array.Date32Builder:
		b.Append(arrow.Date32(v.i))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v.i))
	case *array.DurationBuilder:
		b.Append(arrow.Duration(v.i))
	case *array.BooleanBuilder:
		b.Append(v.i != 0)
	default:
		panic(fmt.Sprintf("parquetio: unexpected builder %T", b))
	}
}

// byteStrings returns the offsets of a String or Binary array's values and
// the bytes those offsets index. The offsets of a slice of an array stay
// absolute while ValueBytes starts at its first value, so the whole data
// buffer is returned.
func byteStrings(arr arrow.Array) ([]int32, []byte) {
	var offs []int32
	switch a := arr.(type) {
	case *array.String:
		offs = a.ValueOffsets()
	case *array.Binary:
		offs = a.ValueOffsets()
	default:
		return nil, nil
	}
	var data []byte
	if bufs := arr.Data().Buffers(); len(bufs) > 2 && bufs[2] != nil {
		data = bufs[2].Bytes()
	}
	return offs, data
}
