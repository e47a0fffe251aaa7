// Package storetest is the conformance suite of store.Store: every backend
// runs the same tests, so code written against the interface behaves the same
// on a local disk, in memory and on S3.
//
// A backend's tests call Run with a constructor of fresh, empty stores, and
// Bench for its benchmarks. Backends that several OS processes can share
// (local, S3) also call Main from TestMain and RunProcessRace: the test binary
// re-executes itself as racing child processes.
package storetest
