// Package exec holds Arrow operators that do not depend on the SQL front
// end: filter, project, hash aggregate, top-N and exact sums.
package exec
