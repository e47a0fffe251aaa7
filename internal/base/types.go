package base

import (
	"fmt"
	"strconv"
	"strings"
)

// TypeKind is a SQL column type without its parameters.
type TypeKind uint8

// The SQL types lakesql stores (DESIGN.md section 1). Anything else is
// refused at CREATE TABLE.
const (
	TypeInvalid   TypeKind = iota
	TypeInt8               // TINYINT
	TypeInt16              // SMALLINT
	TypeInt32              // INT, MEDIUMINT
	TypeInt64              // BIGINT
	TypeUint8              // TINYINT UNSIGNED
	TypeUint16             // SMALLINT UNSIGNED
	TypeUint32             // INT UNSIGNED, MEDIUMINT UNSIGNED
	TypeUint64             // BIGINT UNSIGNED
	TypeFloat32            // FLOAT
	TypeFloat64            // DOUBLE
	TypeDecimal            // DECIMAL(p,s), p <= 65, s <= 30
	TypeChar               // CHAR(n)
	TypeVarchar            // VARCHAR(n)
	TypeText               // TEXT (and TINY/MEDIUM/LONGTEXT)
	TypeBinary             // BINARY(n)
	TypeVarbinary          // VARBINARY(n)
	TypeBlob               // BLOB (and TINY/MEDIUM/LONGBLOB)
	TypeDate               // DATE
	TypeDatetime           // DATETIME(p): no time zone
	TypeTimestamp          // TIMESTAMP(p): an instant, stored in UTC
	TypeTime               // TIME(p): a signed duration, -838:59:59 to 838:59:59
	TypeBool               // BOOLEAN
	TypeJSON               // JSON
)

var kindNames = [...]string{
	TypeInt8: "TINYINT", TypeInt16: "SMALLINT", TypeInt32: "INT", TypeInt64: "BIGINT",
	TypeUint8: "TINYINT UNSIGNED", TypeUint16: "SMALLINT UNSIGNED", TypeUint32: "INT UNSIGNED",
	TypeUint64: "BIGINT UNSIGNED", TypeFloat32: "FLOAT", TypeFloat64: "DOUBLE", TypeDecimal: "DECIMAL",
	TypeChar: "CHAR", TypeVarchar: "VARCHAR", TypeText: "TEXT", TypeBinary: "BINARY",
	TypeVarbinary: "VARBINARY", TypeBlob: "BLOB", TypeDate: "DATE", TypeDatetime: "DATETIME",
	TypeTimestamp: "TIMESTAMP", TypeTime: "TIME", TypeBool: "BOOLEAN", TypeJSON: "JSON",
}

// Type is a SQL column type with its parameters.
type Type struct {
	Kind TypeKind
	// Precision and Scale of a DECIMAL; Precision is also the fractional
	// seconds digits (0-6) of DATETIME, TIMESTAMP and TIME.
	Precision, Scale int
	// Length of CHAR, VARCHAR, BINARY and VARBINARY.
	Length int
}

// MaxDecimalPrecision is MySQL's largest DECIMAL precision.
const MaxDecimalPrecision = 65

// String spells the type as SQL, as the log stores it: "DECIMAL(10,2)",
// "VARCHAR(64)", "DATETIME(6)", "BIGINT UNSIGNED".
func (t Type) String() string {
	if int(t.Kind) >= len(kindNames) || kindNames[t.Kind] == "" {
		return fmt.Sprintf("TypeKind(%d)", t.Kind)
	}
	name := kindNames[t.Kind]
	switch t.Kind {
	case TypeDecimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	case TypeChar, TypeVarchar, TypeBinary, TypeVarbinary:
		return fmt.Sprintf("%s(%d)", name, t.Length)
	case TypeDatetime, TypeTimestamp, TypeTime:
		if t.Precision > 0 {
			return fmt.Sprintf("%s(%d)", name, t.Precision)
		}
	}
	return name
}

// IsInteger reports whether the type is a signed or unsigned integer.
func (t Type) IsInteger() bool { return t.Kind >= TypeInt8 && t.Kind <= TypeUint64 }

// IsUnsigned reports whether the type is an unsigned integer.
func (t Type) IsUnsigned() bool { return t.Kind >= TypeUint8 && t.Kind <= TypeUint64 }

// IsString reports whether values are character strings.
func (t Type) IsString() bool {
	return t.Kind == TypeChar || t.Kind == TypeVarchar || t.Kind == TypeText || t.Kind == TypeJSON
}

// IsBinary reports whether values are byte strings.
func (t Type) IsBinary() bool {
	return t.Kind == TypeBinary || t.Kind == TypeVarbinary || t.Kind == TypeBlob
}

// ParseType parses a type as String spells it (case-insensitively, with
// MySQL's synonyms: INTEGER, MEDIUMINT, BOOL, REAL, NUMERIC, DEC, TINYTEXT,
// LONGBLOB, ...). An unsupported type is an error that names it.
func ParseType(s string) (Type, error) {
	spec := strings.ToUpper(strings.Join(strings.Fields(s), " "))
	bad := func(why string) (Type, error) {
		return Type{}, fmt.Errorf("%w: type %q: %s", ErrUnsupportedType, s, why)
	}
	unsigned := false
	if rest, ok := strings.CutSuffix(spec, " UNSIGNED"); ok {
		spec, unsigned = rest, true
	}
	name, args := spec, []int(nil)
	if i := strings.IndexByte(spec, '('); i >= 0 {
		if !strings.HasSuffix(spec, ")") {
			return bad("unbalanced parentheses")
		}
		name = strings.TrimSpace(spec[:i])
		for _, a := range strings.Split(spec[i+1:len(spec)-1], ",") {
			n, err := strconv.Atoi(strings.TrimSpace(a))
			if err != nil || n < 0 {
				return bad("parameters must be whole numbers")
			}
			args = append(args, n)
		}
	}
	arg := func(i, def int) int {
		if i < len(args) {
			return args[i]
		}
		return def
	}
	var t Type
	switch name {
	case "TINYINT":
		t.Kind = TypeInt8
	case "SMALLINT":
		t.Kind = TypeInt16
	case "INT", "INTEGER", "MEDIUMINT":
		t.Kind = TypeInt32
	case "BIGINT":
		t.Kind = TypeInt64
	case "FLOAT":
		t.Kind = TypeFloat32
	case "DOUBLE", "REAL", "DOUBLE PRECISION":
		t.Kind = TypeFloat64
	case "DECIMAL", "NUMERIC", "DEC", "FIXED":
		t = Type{Kind: TypeDecimal, Precision: arg(0, 10), Scale: arg(1, 0)}
		switch {
		case t.Precision < 1 || t.Precision > MaxDecimalPrecision:
			return bad(fmt.Sprintf("precision must be 1 to %d", MaxDecimalPrecision))
		case t.Scale > 30 || t.Scale > t.Precision:
			return bad("scale must be at most 30 and at most the precision")
		}
	case "CHAR", "CHARACTER":
		t = Type{Kind: TypeChar, Length: arg(0, 1)}
		if t.Length > 255 {
			return bad("CHAR holds at most 255 characters")
		}
	case "VARCHAR", "CHARACTER VARYING":
		if len(args) == 0 {
			return bad("VARCHAR needs a length")
		}
		t = Type{Kind: TypeVarchar, Length: args[0]}
	case "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT":
		t.Kind = TypeText
	case "BINARY":
		t = Type{Kind: TypeBinary, Length: arg(0, 1)}
		if t.Length > 255 {
			return bad("BINARY holds at most 255 bytes")
		}
	case "VARBINARY":
		if len(args) == 0 {
			return bad("VARBINARY needs a length")
		}
		t = Type{Kind: TypeVarbinary, Length: args[0]}
	case "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB":
		t.Kind = TypeBlob
	case "DATE":
		t.Kind = TypeDate
	case "DATETIME", "TIMESTAMP", "TIME":
		t = Type{Kind: map[string]TypeKind{"DATETIME": TypeDatetime, "TIMESTAMP": TypeTimestamp, "TIME": TypeTime}[name], Precision: arg(0, 0)}
		if t.Precision > 6 {
			return bad("fractional seconds precision must be 0 to 6")
		}
	case "BOOLEAN", "BOOL":
		t.Kind = TypeBool
	case "JSON":
		t.Kind = TypeJSON
	default:
		return bad("lakesql stores TINYINT..BIGINT (signed and unsigned), FLOAT, DOUBLE, DECIMAL, CHAR, VARCHAR, TEXT, BINARY, VARBINARY, BLOB, DATE, DATETIME, TIMESTAMP, TIME, BOOLEAN and JSON")
	}
	if unsigned {
		if !t.IsInteger() {
			return bad("only integer types can be UNSIGNED")
		}
		t.Kind += TypeUint8 - TypeInt8
	}
	if len(args) > 0 && !(t.Kind == TypeDecimal || t.Kind == TypeChar || t.Kind == TypeVarchar || t.Kind == TypeBinary ||
		t.Kind == TypeVarbinary || t.Kind == TypeDatetime || t.Kind == TypeTimestamp || t.Kind == TypeTime || t.IsInteger()) {
		return bad("takes no parameters")
	}
	return t, nil
}
