// Package parquetio converts between Parquet files in a store and Arrow
// record batches: column projection, statistics, bloom filters and ranged
// reads through store.Reader.
package parquetio
