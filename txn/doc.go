// Package txn is the commit log of a database: actions, log replay,
// snapshots, branches, tags and refs, checkpoints, optimistic commits with
// conflict checks, and vacuum.
package txn
