package sqllogictest

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// FormatValue prints a result value the way sqllogictest's reference
// runner does, by the column's type letter in the record:
//
//   - NULL is "NULL" whatever the type;
//   - I: an integer; a float (or a decimal's text) is truncated toward
//     zero, and text that is not a number reads as its numeric prefix, as
//     sqlite3_column_int64 does;
//   - R: a number with three decimals (%.3f);
//   - T: the text, "(empty)" for an empty string, each byte outside
//     printable ASCII replaced by '@'.
//
// v is what a backend returns: nil, int64, uint64, float64, string or
// []byte.
func FormatValue(v any, typ byte) string {
	v = normalize(v)
	if v == nil {
		return "NULL"
	}
	switch typ {
	case 'I':
		switch v := v.(type) {
		case int64:
			return strconv.FormatInt(v, 10)
		case uint64:
			return strconv.FormatUint(v, 10)
		case float64:
			return truncFloat(v)
		case string:
			return intText(v)
		case []byte:
			return intText(string(v))
		}
	case 'R':
		switch v := v.(type) {
		case int64:
			return fmt.Sprintf("%.3f", float64(v))
		case uint64:
			return fmt.Sprintf("%.3f", float64(v))
		case float64:
			return fmt.Sprintf("%.3f", v)
		case string:
			return fmt.Sprintf("%.3f", numericPrefix(v))
		case []byte:
			return fmt.Sprintf("%.3f", numericPrefix(string(v)))
		}
	default:
		switch v := v.(type) {
		case int64:
			return strconv.FormatInt(v, 10)
		case uint64:
			return strconv.FormatUint(v, 10)
		case float64:
			return floatText(v)
		case string:
			return text(v)
		case []byte:
			return text(string(v))
		}
	}
	return text(fmt.Sprint(v))
}

// normalize turns the other Go types a driver may return (go-sql-driver
// parses numbers even in the text protocol; a FLOAT arrives as float32)
// into the ones FormatValue handles.
func normalize(v any) any {
	switch v := v.(type) {
	case float32:
		// The shortest decimal that reads back as v, as MySQL prints it.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
		return f
	case int:
		return int64(v)
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case uint:
		return uint64(v)
	case uint8:
		return uint64(v)
	case uint16:
		return uint64(v)
	case uint32:
		return uint64(v)
	case bool:
		if v {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

// text is a T value: "(empty)" or the string with non-printable bytes as
// '@'.
func text(s string) string {
	if s == "" {
		return "(empty)"
	}
	b := []byte(s)
	for i, c := range b {
		if c < ' ' || c > '~' {
			b[i] = '@'
		}
	}
	return string(b)
}

// truncFloat prints f truncated toward zero, as an integer.
func truncFloat(f float64) string {
	t := math.Trunc(f)
	if t >= math.MinInt64 && t < math.MaxInt64 {
		return strconv.FormatInt(int64(t), 10)
	}
	return strconv.FormatFloat(t, 'f', 0, 64)
}

// intText is text read as an integer: exact when it is one, truncated
// when it is a decimal or a float, its numeric prefix otherwise.
func intText(s string) string {
	s = strings.TrimSpace(s)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.FormatInt(i, 10)
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return strconv.FormatUint(u, 10)
	}
	return truncFloat(numericPrefix(s))
}

// numericPrefix is the number at the start of s (0 when there is none),
// as MySQL and SQLite read text in a numeric context.
func numericPrefix(s string) float64 {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	// The longest prefix that parses.
	end := 0
	for i, c := range s {
		ok := c >= '0' && c <= '9' || c == '.' || (i == 0 && (c == '-' || c == '+')) ||
			((c == 'e' || c == 'E') && i > 0) || ((c == '-' || c == '+') && i > 0 && (s[i-1] == 'e' || s[i-1] == 'E'))
		if !ok {
			break
		}
		end = i + 1
	}
	for ; end > 0; end-- {
		if f, err := strconv.ParseFloat(s[:end], 64); err == nil {
			return f
		}
	}
	return 0
}

// floatText prints a double as MySQL does in text: plain digits in the
// usual range, an exponent without '+' outside it.
func floatText(f float64) string {
	if a := math.Abs(f); f == 0 || (a >= 1e-5 && a < 1e15) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strings.Replace(strconv.FormatFloat(f, 'g', -1, 64), "e+", "e", 1)
}

// formatRows prints every value of rows by the record's types.
func formatRows(rows [][]any, types string) []string {
	out := make([]string, 0, len(rows)*len(types))
	for _, row := range rows {
		for i, v := range row {
			out = append(out, FormatValue(v, types[i]))
		}
	}
	return out
}

// sortValues orders values (ncol per row) by the record's sort mode, in
// place.
func sortValues(values []string, ncol int, mode SortMode) {
	switch mode {
	case RowSort:
		if ncol <= 0 {
			return
		}
		rows := make([][]string, len(values)/ncol)
		for i := range rows {
			rows[i] = slices.Clone(values[i*ncol : (i+1)*ncol])
		}
		slices.SortStableFunc(rows, slices.Compare)
		for i, r := range rows {
			copy(values[i*ncol:], r)
		}
	case ValueSort:
		slices.Sort(values)
	}
}

// hashValues is the md5 of the values, each followed by a newline: the
// hash of "N values hashing to H".
func hashValues(values []string) string {
	h := md5.New()
	for _, v := range values {
		h.Write([]byte(v))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
