// Package planner holds the go-mysql-server analyzer rules and plan nodes of
// lakesql: pushdown, key lookups and vectorized execution through exec.
//
// Register adds the rules to an analyzer.Builder. Each has a RuleId of 10001
// or more. So far there is one.
//
// # Exact SUM and AVG (ExactAggregatesRule)
//
// GMS totals SUM and AVG in float64 and types them DOUBLE, so SUM over BIGINT
// loses everything beyond 2^53. MySQL totals integers and DECIMALs exactly
// and returns a DECIMAL. The rule replaces every GMS aggregation.Sum and
// aggregation.Avg of a GroupBy whose argument is an integer (any width,
// signed or not, BOOL included) or a DECIMAL with an exactAgg, DISTINCT
// included, and leaves SUM and AVG of anything else (DOUBLE, FLOAT, YEAR,
// BIT, strings) to GMS, as MySQL computes those in floating point too.
//
// Result types are MySQL 8's (Item_sum_sum and Item_sum_avg::resolve_type),
// for an argument of precision P and scale S:
//
//	SUM  DECIMAL(min(P+22, 65), S)        BIGINT: DECIMAL(41,0), INT: (32,0)
//	AVG  DECIMAL(min(P+4, 65), min(S+4, 30))  BIGINT: DECIMAL(23,4), DECIMAL(10,2): (14,6)
//
// The precision of an integer type is the digits of its maximum display
// length less the sign: 3, 5, 8, 10 and 19 from TINYINT to BIGINT, 20 for
// BIGINT UNSIGNED. AVG is rounded half away from zero to its scale, as MySQL
// rounds with div_precision_increment = 4. No values or only NULLs give NULL.
//
// # The rewrite
//
// The rule runs in the post-analyzer batch, once the plan's shape is settled
// and before the after-all batch assigns exec indexes; the replacements keep
// the aggregates' column ids, so the indexes are assigned as for GMS's. GMS's
// planner typed the references to SUM and AVG, and the expressions, aliases
// and derived-table columns over them, as DOUBLE when it built the plan, so
// the rule retypes those references as it goes up:
//
//	GroupBy        replace SUM/AVG; record agg id -> DECIMAL type
//	  Project      retype references to recorded ids; record aliases over them
//	SubqueryAlias  record its own ids of recorded columns of its query
//	SetOp          convert a column both sides no longer agree on (DECIMAL vs
//	               DOUBLE gives DOUBLE, DECIMAL vs DECIMAL a DECIMAL for both)
//	...            retype references, all the way to the top
//
// Only references typed DOUBLE are retyped. The analyzer analyzes subqueries
// and derived tables before the query around them, and the rule enters them
// again from the outer query (which transform.Node would not) to learn their
// columns; rewriting a rewritten plan changes nothing.
//
// Window uses (SUM(x) OVER (...)) are deliberately left to GMS and stay
// float64: they would need exact sql.WindowFunctions, and GMS types them
// inconsistently already (TestWindowAggregatesAreGMS).
//
// # The running total
//
// exactSum adds integers, and DECIMALs whose coefficient at the column's
// scale fits an int64, into a 128-bit two's-complement integer with one
// add-with-carry: no branch on overflow, no allocation. It cannot overflow
// before 2^63 additions. Other DECIMALs go to a decimal.Decimal. Over
// prebuilt BIGINT rows that is 6-8 ns a row against GMS's 48-60 (which
// converts and boxes a float64 per row); through the engine the scan of the
// table dominates. See BenchmarkSumBuffer and BenchmarkSum.
//
// # Not covered
//
//   - CREATE TABLE ... AS SELECT SUM(...): GMS fixes the new table's schema
//     from the plan before any analysis, so the column is DOUBLE NOT NULL (a
//     NULL sum fails to insert, with or without the rule).
//   - MySQL types a literal by its length (SUM(9007199254740993) is
//     DECIMAL(38,0)); GMS only says BIGINT, giving DECIMAL(41,0).
//   - The result type follows the argument type GMS reports, also where GMS
//     reports it differently from MySQL (CAST(x AS DECIMAL(30,0)) is
//     DECIMAL(65,30) to GMS).
//   - A DECIMAL total beyond 65 digits is returned, not refused.
package planner
