// Package memtable is the in-memory table of recent writes: a B-tree per
// table keyed by primary key, with versions by sequence number and delete
// markers.
package memtable
