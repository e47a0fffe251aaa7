package base

import (
	"errors"
	"testing"
)

func TestParseType(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"bigint", "BIGINT"},
		{"BIGINT UNSIGNED", "BIGINT UNSIGNED"},
		{"int(11)", "INT"},
		{"integer unsigned", "INT UNSIGNED"},
		{"mediumint", "INT"},
		{"tinyint(1)", "TINYINT"},
		{"decimal(10,2)", "DECIMAL(10,2)"},
		{"DECIMAL", "DECIMAL(10,0)"},
		{"numeric(65,30)", "DECIMAL(65,30)"},
		{"varchar(64)", "VARCHAR(64)"},
		{"char", "CHAR(1)"},
		{"longtext", "TEXT"},
		{"varbinary(16)", "VARBINARY(16)"},
		{"mediumblob", "BLOB"},
		{"datetime(6)", "DATETIME(6)"},
		{"timestamp", "TIMESTAMP"},
		{"time(3)", "TIME(3)"},
		{"bool", "BOOLEAN"},
		{"json", "JSON"},
		{"double precision", "DOUBLE"},
		{"float", "FLOAT"},
	} {
		typ, err := ParseType(tc.in)
		if err != nil {
			t.Errorf("ParseType(%q): %v", tc.in, err)
			continue
		}
		if got := typ.String(); got != tc.want {
			t.Errorf("ParseType(%q) = %s, want %s", tc.in, got, tc.want)
		}
		if again, err := ParseType(typ.String()); err != nil || again != typ {
			t.Errorf("%s does not round trip: %v %v", typ, again, err)
		}
	}
	for _, bad := range []string{
		"geometry", "enum('a','b')", "set('x')", "decimal(66,2)", "decimal(5,6)", "varchar",
		"datetime(7)", "double unsigned", "char(300)", "json(3)", "int(", "decimal(a,b)", "",
	} {
		if _, err := ParseType(bad); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("ParseType(%q) = %v, want ErrUnsupportedType", bad, err)
		}
	}
}
