package planner

import (
	"reflect"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// setOp makes the sides of a UNION, INTERSECT or EXCEPT agree again on the
// types of the columns the rewrite changed, and records the exact columns of
// its output.
//
// The planner made both sides agree (converting them where needed) when SUM
// and AVG were DOUBLE, and GMS rejects a set operation whose sides differ.
// After the rewrite a column can be DECIMAL on one side and DOUBLE on the
// other, or DECIMAL of different precisions on both. Both sides then convert
// the column to MySQL's type of the union: DOUBLE against a floating-point
// column, else a DECIMAL that holds both. Any other difference is not the
// rewrite's doing and the node is left alone.
func (r *rewriter) setOp(so *plan.SetOp) (sql.Node, transform.TreeIdentity, error) {
	ls, rs := so.Left().Schema(), so.Right().Schema()
	if len(ls) != len(rs) {
		return so, transform.SameTree, nil
	}
	targets := make([]sql.Type, len(ls))
	differ := false
	for i := range ls {
		// The comparison of GMS's validateUnionSchemasMatch.
		if reflect.DeepEqual(ls[i].Type, rs[i].Type) {
			continue
		}
		t, ok := unionType(ls[i].Type, rs[i].Type)
		if !ok {
			return so, transform.SameTree, nil
		}
		targets[i], differ = t, true
	}
	var n sql.Node = so
	same := transform.SameTree
	if differ {
		left, okL := convertColumns(so.Left(), ls, targets)
		right, okR := convertColumns(so.Right(), rs, targets)
		if !okL || !okR {
			return so, transform.SameTree, nil
		}
		var err error
		if n, err = so.WithChildren(left, right); err != nil {
			return nil, transform.SameTree, err
		}
		same = transform.NewTree
	}

	// The output's ids are the set operation's own. A DECIMAL column is
	// recorded whether or not it comes from an exact aggregate: retype only
	// touches references typed DOUBLE, which a DECIMAL column should not
	// have anyway.
	ids := columnIDs(so)
	sch := n.Schema()
	if len(ids) != len(sch) {
		return n, same, nil
	}
	for i, id := range ids {
		if id == 0 {
			continue
		}
		if types.IsDecimal(sch[i].Type) {
			r.cols[id] = exactCol{typ: sch[i].Type, nullable: sch[i].Nullable}
		} else {
			delete(r.cols, id)
		}
	}
	return n, same, nil
}

// unionType returns MySQL's type for a column of a set operation whose sides
// have types l and r, one of them DECIMAL, or false if neither is DECIMAL or
// the other is not a number.
func unionType(l, r sql.Type) (sql.Type, bool) {
	ld, lDec := l.(sql.DecimalType)
	rd, rDec := r.(sql.DecimalType)
	if lDec && rDec {
		return mergeDecimal(ld.Precision(), ld.Scale(), rd.Precision(), rd.Scale()), true
	}
	dec, other := ld, r
	if rDec {
		dec, other = rd, l
	} else if !lDec {
		return nil, false
	}
	if types.IsFloat(other) {
		return types.Float64, true
	}
	if p, s, ok := exactArgType(other); ok {
		return mergeDecimal(dec.Precision(), dec.Scale(), p, s), true
	}
	return nil, false
}

// mergeDecimal returns the DECIMAL type that holds values of DECIMAL(p1,s1)
// and DECIMAL(p2,s2): the larger integer part and the larger scale, capped at
// 65 digits.
func mergeDecimal(p1, s1, p2, s2 uint8) sql.DecimalType {
	s := max(s1, s2)
	intDigits := max(int(p1)-int(s1), int(p2)-int(s2))
	p := min(intDigits+int(s), types.DecimalTypeMaxPrecision)
	return types.MustCreateDecimalType(uint8(p), s)
}

// convertColumns returns n under a projection that converts the columns
// with a target type to it, or false if n's column ids are unknown.
func convertColumns(n sql.Node, sch sql.Schema, targets []sql.Type) (sql.Node, bool) {
	ids := outputIDs(n)
	if len(ids) != len(sch) {
		return nil, false
	}
	exprs := make([]sql.Expression, len(sch))
	for i, c := range sch {
		// As GMS's planner builds the projections of a set operation.
		gf := expression.NewGetFieldWithTable(int(ids[i]), 0, c.Type, c.DatabaseSource, c.Source, c.Name, c.Nullable)
		var conv sql.Expression
		switch t := targets[i].(type) {
		case nil:
			exprs[i] = gf
			continue
		case sql.DecimalType:
			conv = expression.NewConvertWithLengthAndScale(gf, expression.ConvertToDecimal, int(t.Precision()), int(t.Scale()))
		default:
			conv = expression.NewConvert(gf, expression.ConvertToDouble)
		}
		exprs[i] = expression.NewAlias(c.Name, conv)
	}
	return plan.NewProject(exprs, n), true
}
