package base

import "math"

// AsInt64 returns v as an int64 when v is a Go integer that fits one.
func AsInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return int64(x), uint64(x) <= math.MaxInt64
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	}
	return 0, false
}

// AsUint64 returns v as a uint64 when v is a non-negative Go integer.
func AsUint64(v any) (uint64, bool) {
	if s, ok := AsInt64(v); ok {
		return uint64(s), s >= 0
	}
	switch x := v.(type) {
	case uint:
		return uint64(x), true
	case uint64:
		return x, true
	}
	return 0, false
}
