package sql

// KeylessScans exposes the count of value-map reads of keyless tables to
// the external tests.
func KeylessScans() int64 { return keylessScans.Load() }
