// Package base is the shared vocabulary of lakesql: keys, rows, values and
// their order, schemas, versions, sequence numbers, generations, the
// corruption error, and OrderedMap (work on every core, results in
// order). It imports the standard library only, so every other package
// can depend on it.
package base
