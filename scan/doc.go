// Package scan reads data files, filtered by their deletion vectors and by
// the masks of in-memory sources, into Arrow record batches, and finds single
// rows by key. It defines the source interface that the MemTable implements.
package scan
