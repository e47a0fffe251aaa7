// Package mergeplan plans, without any I/O, how to scan the sources of a
// table (which files, which masks, which partitions) and which files to merge
// or rewrite.
package mergeplan
