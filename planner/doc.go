// Package planner holds the go-mysql-server analyzer rules and plan nodes of
// lakesql: pushdown, key lookups and vectorized execution through exec.
package planner
