package sql

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/memwal"
	"github.com/lakesql/lakesql/memwal/lease"
	"github.com/lakesql/lakesql/txn"
)

// translate is the one place where lakesql's errors become MySQL errors:
// every error lakesql hands to go-mysql-server passes through it, so the
// client gets the code a MySQL user expects (go-mysql-server maps its own
// errors, and anything unknown becomes 1105 with the message).
//
//	write-write conflict, a lost commit race   1213 (SQLSTATE 40001): retry
//	unsupported column type                    1235
//	unknown branch (as a database)             1049
//	branch held by another process             1105, naming the holder
//	corrupt file                               1105, naming the file
func translate(err error) error {
	if err == nil {
		return nil
	}
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se
	}
	var ce *txn.ConflictError
	var dk *DuplicateKeyError
	switch {
	case errors.As(err, &dk):
		return mysql.NewSQLError(mysql.ERDupEntry, "23000", "%v", err)
	case errors.Is(err, memwal.ErrConflict), errors.As(err, &ce), errors.Is(err, txn.ErrConflict):
		return mysql.NewSQLError(mysql.ERLockDeadlock, "40001",
			"serialization failure: %v; the transaction was rolled back, retry it", err)
	case errors.Is(err, base.ErrUnsupportedType):
		return mysql.NewSQLError(mysql.ERNotSupportedYet, "42000", "%v", err)
	case errors.Is(err, memwal.ErrSnapshotTooOld):
		return mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState,
			"%v; the transaction was open too long, start a new one", err)
	case errors.Is(err, memwal.ErrKeyConflict):
		return mysql.NewSQLError(mysql.ERDupEntry, "23000", "%v", err)
	case errors.Is(err, lease.ErrHeld):
		return mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "%v", err)
	case errors.Is(err, base.ErrCorruption):
		return mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState,
			"%v; the data is unreadable, nothing was changed", err)
	}
	return err
}

// errUnknownRef: an AS OF or procedure argument names no version, branch or
// tag.
func errUnknownRef(ref string, err error) error {
	var nf *txn.NotFoundError
	if errors.As(err, &nf) {
		return mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "AS OF %s: %v", ref, err)
	}
	return translate(fmt.Errorf("AS OF %s: %w", ref, err))
}

// errReadOnlyAsOf: a write to a table read AS OF.
var errReadOnlyAsOf = mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState,
	"a table read AS OF a version is read-only; write to the branch instead")

// dupKeyError is the error go-mysql-server expects from an inserter that
// finds the key taken: it carries the existing row, so that ON DUPLICATE
// KEY UPDATE and REPLACE can use it.
func dupKeyError(key string, existing sql.Row) error {
	return sql.NewUniqueKeyErr(key, true, existing)
}

// engineError fixes the codes of errors go-mysql-server itself raises,
// where they differ from MySQL's: a parse error is 1064 (42000), not 1105.
func engineError(err error) error {
	if err == nil {
		return nil
	}
	se := sql.CastSQLError(translate(err))
	if se.Num != mysql.ERUnknownError {
		return se
	}
	// The server's handler has already turned the error into a 1105, so
	// this matches go-mysql-server's messages.
	switch m := se.Message; {
	case strings.HasPrefix(m, "syntax error"):
		return mysql.NewSQLError(mysql.ERParseError, "42000", "%s", m)
	case strings.Contains(m, " out of range for "):
		return mysql.NewSQLError(mysql.ERWarnDataOutOfRange, "22003", "Out of range value: %s", m)
	case strings.HasPrefix(m, "table with name ") && strings.HasSuffix(m, " already exists"):
		return mysql.NewSQLError(mysql.ERTableExists, "42S01", "%s", m)
	case strings.Contains(m, "command denied to user"):
		return mysql.NewSQLError(1142, "42000", "%s", m)
	case strings.Contains(m, "is too large for column"):
		return mysql.NewSQLError(mysql.ERDataTooLong, "22001", "Data too long: %s", m)
	case strings.HasPrefix(m, "the given regular expression is invalid"):
		return mysql.NewSQLError(3688, "HY000", "%s", m) // ER_REGEXP_RULE_SYNTAX
	case strings.HasPrefix(m, "Index out of bounds in regular expression search"):
		return mysql.NewSQLError(3686, "HY000", "%s", m) // ER_REGEXP_INDEX_OUTOFBOUNDS_ERROR
	case strings.Contains(m, "does not support temporary tables"):
		return mysql.NewSQLError(mysql.ERNotSupportedYet, "42000",
			"temporary tables are not supported by lakesql; create a table (on a branch, if it should not touch main) and drop it after")
	case strings.Contains(m, "table is not primary key alterable"):
		return mysql.NewSQLError(mysql.ERNotSupportedYet, "42000",
			"changing a table's primary key is not supported by lakesql; create a table with the new key and copy the rows with INSERT ... SELECT")
	}
	return se
}
