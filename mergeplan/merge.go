package mergeplan

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
)

// MergeOptions configure PlanMerges. Zero values take the defaults.
type MergeOptions struct {
	// RewriteFraction: a file whose deletion vector hides more than this
	// fraction of its rows is rewritten without them.
	RewriteFraction float64
	// MaxProbeDepth bounds ProbeDepth: while more files than this hold
	// one key, overlapping flushed files are merged.
	MaxProbeDepth int
	// MaxInputBytes caps the bytes one merge reads.
	MaxInputBytes int64
	// TargetFileBytes is the size a merge's output files are cut at.
	TargetFileBytes int64
	// MaxSmallFiles: a table with more live files smaller than
	// SmallFileBytes than this has them compacted into fewer, larger
	// files, where that raises no key's probe depth.
	MaxSmallFiles int
	// SmallFileBytes is the size below which a file counts as small.
	SmallFileBytes int64
}

// Merge planning defaults.
const (
	DefaultRewriteFraction = 0.3
	DefaultMaxProbeDepth   = 4
	DefaultMaxInputBytes   = 512 << 20
	DefaultTargetFileBytes = 128 << 20
	DefaultMaxSmallFiles   = 8
	// DefaultSmallFileBytes is a quarter of DefaultTargetFileBytes.
	DefaultSmallFileBytes = DefaultTargetFileBytes / 4
)

func (o MergeOptions) withDefaults() MergeOptions {
	if o.RewriteFraction <= 0 {
		o.RewriteFraction = DefaultRewriteFraction
	}
	if o.MaxProbeDepth <= 0 {
		o.MaxProbeDepth = DefaultMaxProbeDepth
	}
	if o.MaxInputBytes <= 0 {
		o.MaxInputBytes = DefaultMaxInputBytes
	}
	if o.TargetFileBytes <= 0 {
		o.TargetFileBytes = DefaultTargetFileBytes
	}
	if o.MaxSmallFiles <= 0 {
		o.MaxSmallFiles = DefaultMaxSmallFiles
	}
	if o.SmallFileBytes <= 0 {
		o.SmallFileBytes = DefaultSmallFileBytes
	}
	return o
}

// Reason says why a merge is planned.
type Reason string

// Merge reasons.
const (
	// ReasonOverlap merges overlapping flushed files into files with
	// disjoint key ranges, to bound the probe depth.
	ReasonOverlap Reason = "overlap"
	// ReasonRewrite rewrites one file without the rows its deletion
	// vector hides.
	ReasonRewrite Reason = "rewrite"
	// ReasonDrop removes files that have no live rows; nothing is
	// read or written.
	ReasonDrop Reason = "drop"
	// ReasonCompact merges small files (many small flushes of a keyless
	// table, or of a table written in key order) into larger ones.
	ReasonCompact Reason = "compact"
	// ReasonMaterialize rewrites a virtual file into the database's store
	// (planned by the caller, never by PlanMerges).
	ReasonMaterialize Reason = "materialize"
)

// Merge is one planned merge: its inputs are replaced by its outputs in one
// data-preserving commit.
type Merge struct {
	Reason Reason
	// Inputs are the input files' paths, in key order (by the minimum
	// key, then path) for overlap merges, input order otherwise.
	Inputs []string
	// Runs partitions the inputs of an overlap merge into runs of files
	// with disjoint key ranges, each in key order: an executor
	// concatenates each run and merges the runs by key, so the merge's
	// fan-in is len(Runs), not len(Inputs) (parquet-go's merge:
	// concatenate disjoint inputs, merge overlapping ones).
	Runs [][]string
	// InputBytes is what the merge reads.
	InputBytes int64
	// OutputRows and OutputBytes estimate the output: the inputs' live
	// rows and live bytes.
	OutputRows, OutputBytes int64
	// OutputFiles is how many files the output is cut into at
	// TargetFileBytes.
	OutputFiles int
	// KeyRange is the union of the inputs' key ranges (nil when they have
	// none); every output file's range lies inside it.
	KeyRange *Range
	// Disjoint says the output files have pairwise disjoint key ranges:
	// the output is written in key order and cut between keys.
	Disjoint bool
	// Kind is the output files' kind: an overlap merge's output stays
	// Flushed (it may be merged again as newer flushes overlap it); a
	// rewrite keeps its input's kind.
	Kind Kind
}

// node is a file, or a planned merge of several, during overlap planning.
type node struct {
	files     []*File
	keys      Range
	bytes     int64 // input bytes
	liveBytes int64
	minGen    int64
	mergeable bool
}

// PlanMerges plans the merges of a table's files; see the package
// documentation for the policy. Inputs of different merges are disjoint, and
// the plan depends only on the files, not on their order (paths must be
// unique).
func PlanMerges(files []File, opts MergeOptions) []Merge {
	opts = opts.withDefaults()
	var merges []Merge
	inMerge := make(map[*File]bool)

	// Overlap merges first: they drop deleted rows too, so a file they
	// take needs no rewrite.
	for _, n := range planOverlaps(files, opts) {
		m := overlapMerge(n, opts)
		for _, f := range n.files {
			inMerge[f] = true
		}
		merges = append(merges, m)
	}

	// Then small files, before rewrites: a compaction drops deleted rows
	// too.
	for _, m := range planCompactions(files, inMerge, opts) {
		merges = append(merges, m)
	}

	var dropped []string
	for i := range files {
		f := &files[i]
		if inMerge[f] {
			continue
		}
		if f.Live() == 0 {
			dropped = append(dropped, f.Path)
			continue
		}
		if float64(f.Deleted) > opts.RewriteFraction*float64(f.Rows) && f.Bytes <= opts.MaxInputBytes {
			m := Merge{
				Reason:      ReasonRewrite,
				Inputs:      []string{f.Path},
				InputBytes:  f.Bytes,
				OutputRows:  f.Live(),
				OutputBytes: f.LiveBytes(),
				Disjoint:    f.Keys != nil,
				Kind:        f.Kind,
			}
			if f.Keys != nil {
				r := *f.Keys
				m.KeyRange = &r
			}
			m.OutputFiles = outputFiles(m.OutputRows, m.OutputBytes, opts.TargetFileBytes)
			merges = append(merges, m)
		}
	}
	if len(dropped) > 0 {
		merges = append(merges, Merge{Reason: ReasonDrop, Inputs: dropped, Disjoint: true})
	}
	return merges
}

// planCompactions returns the compactions of small files when the table has
// more than opts.MaxSmallFiles of them, marking their inputs in inMerge.
// Files with key ranges are taken in key order, in groups of consecutive
// small files whose union range no other file intersects: the output's
// range then holds no key that another file holds unless an input held it
// too, so no key's depth grows (a key between two inputs goes from depth 0
// to 1). Files without key ranges (keyless tables) are grouped in
// generation order. A group reads at most opts.MaxInputBytes.
func planCompactions(files []File, inMerge map[*File]bool, opts MergeOptions) []Merge {
	// Files other merges take are not small: they still bound groups.
	taken := maps.Clone(inMerge)
	small := func(f *File) bool {
		return !taken[f] && f.Bytes < opts.SmallFileBytes && f.Bytes <= opts.MaxInputBytes
	}
	var keyed, keyless []*File
	nsmall := 0
	for i := range files {
		f := &files[i]
		if f.Live() == 0 {
			continue
		}
		if small(f) {
			nsmall++
		}
		if f.Keys != nil {
			keyed = append(keyed, f)
		} else if small(f) {
			keyless = append(keyless, f)
		}
	}
	if nsmall <= opts.MaxSmallFiles {
		return nil
	}
	var merges []Merge
	take := func(group []*File) {
		if len(group) < 2 {
			return
		}
		for _, f := range group {
			inMerge[f] = true
		}
		merges = append(merges, compaction(group, opts))
	}

	slices.SortFunc(keyed, func(a, b *File) int {
		return cmp.Or(bytes.Compare(a.Keys.Min, b.Keys.Min), bytes.Compare(a.Keys.Max, b.Keys.Max), cmp.Compare(a.Path, b.Path))
	})
	var (
		group     []*File
		union     Range
		groupSize int64
		reach     Key // the largest Max of the files before that no group took
	)
	other := func(r Range) {
		if reach == nil || bytes.Compare(r.Max, reach) > 0 {
			reach = r.Max
		}
	}
	for _, f := range keyed {
		free := reach == nil || bytes.Compare(reach, f.Keys.Min) < 0
		switch {
		case small(f) && len(group) > 0 && groupSize+f.Bytes <= opts.MaxInputBytes:
			group = append(group, f)
			union = union.union(*f.Keys)
			groupSize += f.Bytes
			continue
		case len(group) > 0 && union.intersects(f.Keys):
			// f overlaps the group but cannot join it: the group's
			// output would hold f's keys that no input holds.
			for _, g := range group {
				other(*g.Keys)
			}
			group = nil
			free = false
		case len(group) > 0:
			take(group)
			other(union)
			group = nil
			free = bytes.Compare(union.Max, f.Keys.Min) < 0 && (reach == nil || bytes.Compare(reach, f.Keys.Min) < 0)
		}
		if small(f) && free {
			group, union, groupSize = []*File{f}, *f.Keys, f.Bytes
			continue
		}
		other(*f.Keys)
	}
	take(group)

	slices.SortFunc(keyless, func(a, b *File) int {
		return cmp.Or(cmp.Compare(a.Generation, b.Generation), cmp.Compare(a.Path, b.Path))
	})
	group, groupSize = nil, 0
	for _, f := range keyless {
		if groupSize+f.Bytes > opts.MaxInputBytes {
			take(group)
			group, groupSize = nil, 0
		}
		group = append(group, f)
		groupSize += f.Bytes
	}
	take(group)
	return merges
}

// compaction is the merge of a group of small files: in key order and
// disjoint when they have key ranges, of kind Flushed unless all are Base.
func compaction(group []*File, opts MergeOptions) Merge {
	var m Merge
	if group[0].Keys != nil {
		n := &node{files: group, keys: *group[0].Keys}
		for _, f := range group[1:] {
			n.keys = n.keys.union(*f.Keys)
		}
		m = overlapMerge(n, opts)
	} else {
		m = Merge{Kind: Flushed}
		for _, f := range group {
			m.Inputs = append(m.Inputs, f.Path)
			m.InputBytes += f.Bytes
			m.OutputRows += f.Live()
			m.OutputBytes += f.LiveBytes()
		}
		m.OutputFiles = outputFiles(m.OutputRows, m.OutputBytes, opts.TargetFileBytes)
	}
	m.Reason = ReasonCompact
	if !slices.ContainsFunc(group, func(f *File) bool { return f.Kind == Flushed }) {
		m.Kind = Base
	}
	return m
}

// planOverlaps returns the groups of files to merge so that the probe depth
// comes down to opts.MaxProbeDepth where it can. It repeatedly takes the
// deepest key (the leftmost of the deepest) whose depth exceeds the limit
// and merges, among the mergeable nodes holding it, the smallest ones: as
// many as the limit requires, then, tiered, every further one no larger
// than what is merged so far, all within the input byte cap. Every node
// holding that key overlaps the others there, so the merged node's range is
// covered by its inputs and no key's depth grows. A key where fewer than two
// nodes fit the cap is given up.
func planOverlaps(files []File, opts MergeOptions) []*node {
	var nodes []*node
	for i := range files {
		f := &files[i]
		if f.Keys == nil || f.Live() == 0 {
			continue
		}
		nodes = append(nodes, &node{
			files:     []*File{f},
			keys:      *f.Keys,
			bytes:     f.Bytes,
			liveBytes: f.LiveBytes(),
			minGen:    f.Generation,
			mergeable: f.Kind == Flushed,
		})
	}
	stuck := make(map[string]bool)
	for {
		p, holders := deepestPoint(nodes, opts.MaxProbeDepth, stuck)
		if p == nil {
			break
		}
		var cands []*node
		for _, n := range holders {
			if n.mergeable {
				cands = append(cands, n)
			}
		}
		slices.SortFunc(cands, func(a, b *node) int {
			return cmp.Or(cmp.Compare(a.liveBytes, b.liveBytes), cmp.Compare(a.minGen, b.minGen),
				cmp.Compare(a.files[0].Path, b.files[0].Path))
		})
		need := len(holders) - opts.MaxProbeDepth + 1
		var chosen []*node
		var bytes, live int64
		taken := make([]bool, len(cands))
		for i, n := range cands {
			if len(chosen) == need {
				break
			}
			if bytes+n.bytes <= opts.MaxInputBytes {
				chosen = append(chosen, n)
				taken[i] = true
				bytes += n.bytes
				live += n.liveBytes
			}
		}
		if len(chosen) < 2 {
			stuck[string(p)] = true
			continue
		}
		for i, n := range cands {
			if !taken[i] && n.liveBytes <= live && bytes+n.bytes <= opts.MaxInputBytes {
				chosen = append(chosen, n)
				bytes += n.bytes
				live += n.liveBytes
			}
		}
		merged := &node{keys: chosen[0].keys, minGen: chosen[0].minGen, mergeable: true}
		for _, n := range chosen {
			merged.files = append(merged.files, n.files...)
			merged.keys = merged.keys.union(n.keys)
			merged.bytes += n.bytes
			merged.liveBytes += n.liveBytes
			merged.minGen = min(merged.minGen, n.minGen)
		}
		nodes = slices.DeleteFunc(nodes, func(n *node) bool { return slices.Contains(chosen, n) })
		nodes = append(nodes, merged)
	}
	var out []*node
	for _, n := range nodes {
		if len(n.files) > 1 {
			out = append(out, n)
		}
	}
	// Report merges in key order.
	slices.SortFunc(out, func(a, b *node) int {
		return cmp.Or(bytes.Compare(a.keys.Min, b.keys.Min), cmp.Compare(a.files[0].Path, b.files[0].Path))
	})
	return out
}

// deepestPoint returns the key of greatest depth above limit that is not
// stuck (the smallest such key among equals) and the nodes holding it, or
// nil. The depth is greatest at some range's minimum, so only those are
// tried: O(n^2) for n nodes, fine for the thousands of files a table has.
func deepestPoint(nodes []*node, limit int, stuck map[string]bool) (Key, []*node) {
	var best Key
	var bestHolders []*node
	for _, c := range nodes {
		p := c.keys.Min
		if stuck[string(p)] {
			continue
		}
		var holders []*node
		for _, n := range nodes {
			if n.keys.contains(p) {
				holders = append(holders, n)
			}
		}
		if len(holders) <= limit {
			continue
		}
		if len(holders) > len(bestHolders) || (len(holders) == len(bestHolders) && bytes.Compare(p, best) < 0) {
			best, bestHolders = p, holders
		}
	}
	return best, bestHolders
}

func overlapMerge(n *node, opts MergeOptions) Merge {
	files := slices.Clone(n.files)
	slices.SortFunc(files, func(a, b *File) int {
		return cmp.Or(bytes.Compare(a.Keys.Min, b.Keys.Min), cmp.Compare(a.Path, b.Path))
	})
	keys := n.keys
	m := Merge{Reason: ReasonOverlap, KeyRange: &keys, Disjoint: true, Kind: Flushed}
	// Runs, by greedy interval partitioning in key order: a file joins
	// the first run whose last file ends before it starts. That uses as
	// few runs as the inputs' own probe depth.
	var runEnds []*Range
	for _, f := range files {
		m.Inputs = append(m.Inputs, f.Path)
		m.InputBytes += f.Bytes
		m.OutputRows += f.Live()
		m.OutputBytes += f.LiveBytes()
		placed := false
		for i, end := range runEnds {
			if !end.NoMax && bytes.Compare(end.Max, f.Keys.Min) < 0 {
				m.Runs[i] = append(m.Runs[i], f.Path)
				runEnds[i] = f.Keys
				placed = true
				break
			}
		}
		if !placed {
			m.Runs = append(m.Runs, []string{f.Path})
			runEnds = append(runEnds, f.Keys)
		}
	}
	m.OutputFiles = outputFiles(m.OutputRows, m.OutputBytes, opts.TargetFileBytes)
	return m
}

// outputFiles is the number of files of at most target bytes holding bytes,
// at least one when there are rows.
func outputFiles(rows, bytes, target int64) int {
	if rows <= 0 {
		return 0
	}
	return int(max((bytes+target-1)/target, 1))
}

// Apply returns files as they would be after merges ran, as an estimate for
// planning and tests: the inputs are gone, and each merge with output adds
// one file with its estimated rows and bytes and the union of its inputs'
// key ranges (the real outputs' ranges lie inside it), of the merge's Kind
// and generation one above the inputs' highest. Paths of new files are
// "merge-<i>". Files keep their order; new files come last.
func Apply(files []File, merges []Merge) []File {
	gone := make(map[string]bool)
	for _, m := range merges {
		for _, p := range m.Inputs {
			gone[p] = true
		}
	}
	gen := make(map[string]int64)
	for _, f := range files {
		gen[f.Path] = f.Generation
	}
	var out []File
	for _, f := range files {
		if !gone[f.Path] {
			out = append(out, f)
		}
	}
	for i, m := range merges {
		if m.OutputRows == 0 {
			continue
		}
		nf := File{
			Path:  fmt.Sprintf("merge-%d", i),
			Rows:  m.OutputRows,
			Bytes: m.OutputBytes,
			Kind:  m.Kind,
		}
		for _, p := range m.Inputs {
			nf.Generation = max(nf.Generation, gen[p]+1)
		}
		if m.KeyRange != nil {
			r := *m.KeyRange
			nf.Keys = &r
		}
		out = append(out, nf)
	}
	return out
}
