package mergeplan

import (
	"bytes"
	"slices"
)

// ProbeDepth is the largest number of files whose key ranges hold one key:
// how many files a point lookup must probe in the worst case. Files without
// a key range or without live rows (a lookup skips them) do not count.
func ProbeDepth(files []File) int {
	var rs []Range
	for i := range files {
		if f := &files[i]; f.Keys != nil && f.Live() > 0 {
			rs = append(rs, *f.Keys)
		}
	}
	return maxDepth(rs)
}

// maxDepth is the largest number of the closed ranges rs that share a key,
// by a sweep over their ends in O(n log n).
func maxDepth(rs []Range) int {
	mins := make([]Key, len(rs))
	var maxes []Key // bounded ends only; NoMax ranges never end
	for i, r := range rs {
		mins[i] = r.Min
		if !r.NoMax {
			maxes = append(maxes, r.Max)
		}
	}
	slices.SortFunc(mins, func(a, b Key) int { return bytes.Compare(a, b) })
	slices.SortFunc(maxes, func(a, b Key) int { return bytes.Compare(a, b) })
	depth, open, ended := 0, 0, 0
	for _, m := range mins {
		// Ranges ending before m no longer hold it; one ending at m
		// does (closed ranges).
		for ended < len(maxes) && bytes.Compare(maxes[ended], m) < 0 {
			ended++
			open--
		}
		open++
		depth = max(depth, open)
	}
	return depth
}
