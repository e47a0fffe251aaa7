package mergeplan

// ScanOptions configure PlanScan.
type ScanOptions struct {
	// Parallelism is the number of partitions read at once (the cores);
	// 0 means 1.
	Parallelism int
	// TargetPartitionBytes is the largest cost a partition aims at; 0
	// means DefaultTargetPartitionBytes.
	TargetPartitionBytes int64
	// FileOverhead is the cost of opening a file (or a piece of one),
	// in bytes: footer, metadata and request latency; 0 means
	// DefaultFileOverhead, negative means none.
	FileOverhead int64
	// KeyRange, when set, prunes the files whose key range cannot
	// intersect it.
	KeyRange *Range
	// MemTables are the in-memory sources read with the files (only in
	// the branch's writer); each becomes one part, after the files.
	MemTables []MemTable
}

// Scan planning defaults.
const (
	DefaultTargetPartitionBytes = 128 << 20
	DefaultFileOverhead         = 4 << 20
)

// Part is one unit of reading: a whole file, a range of its row groups, or
// a MemTable.
type Part struct {
	// Path is the file's path, or the MemTable's name when Mem.
	Path string
	Mem  bool
	// RowGroupStart and RowGroupEnd bound the row groups to read,
	// [start, end); both 0 means the whole file.
	RowGroupStart, RowGroupEnd int
	// Masked says whether the file's deletion vector must be applied.
	Masked bool
	// Rows estimates the live rows the part yields.
	Rows int64
	// Cost is the part's estimated cost: its live bytes plus the
	// overhead of opening it.
	Cost int64
}

// Whole reports whether the part reads a whole file (or MemTable).
func (p *Part) Whole() bool { return p.RowGroupEnd == 0 }

// Partition is a sequence of parts one reader reads in order.
type Partition struct {
	Parts []Part
	Cost  int64
}

// Skip is a file the plan does not read, and why.
type Skip struct {
	Path   string
	Reason string
}

// Skip reasons.
const (
	SkipDeleted    = "all rows deleted"
	SkipEmpty      = "no rows"
	SkipOutOfRange = "outside the key range"
)

// ScanPlan says which files to read, with which masks, in which partitions.
// Concatenating the partitions' parts in order gives the files (and then the
// MemTables) in input order.
type ScanPlan struct {
	Partitions []Partition
	Skipped    []Skip
	// Rows and Cost total the parts'.
	Rows, Cost int64
}

// PlanScan plans a scan of files (in the order given, which it keeps) and
// of opts.MemTables. Files without live rows and files outside
// opts.KeyRange are skipped. The others are cut into parts: a file costs its
// live bytes plus FileOverhead, and a file costing more than the split size
// is cut into ranges of its row groups when it lists them (each holding at
// least FileOverhead live bytes, so that splitting never more than doubles
// the cost of a piece). The split size
// is TargetPartitionBytes, or less when that would leave cores idle: the
// total cost over Parallelism, but never below FileOverhead (Spark's rule).
// The parts are then grouped, in order, into ceil(total / split size)
// partitions of similar cost, a part going to the partition its cost
// midpoint falls in, so each partition is within one part of the mean.
func PlanScan(files []File, opts ScanOptions) ScanPlan {
	par := max(opts.Parallelism, 1)
	target := opts.TargetPartitionBytes
	if target <= 0 {
		target = DefaultTargetPartitionBytes
	}
	overhead := opts.FileOverhead
	switch {
	case overhead == 0:
		overhead = DefaultFileOverhead
	case overhead < 0:
		overhead = 0
	}

	var plan ScanPlan
	var kept []*File
	var total int64
	for i := range files {
		f := &files[i]
		switch {
		case f.Rows <= 0:
			plan.Skipped = append(plan.Skipped, Skip{f.Path, SkipEmpty})
		case f.Live() == 0:
			plan.Skipped = append(plan.Skipped, Skip{f.Path, SkipDeleted})
		case opts.KeyRange != nil && f.Keys != nil && !f.Keys.intersects(opts.KeyRange):
			plan.Skipped = append(plan.Skipped, Skip{f.Path, SkipOutOfRange})
		default:
			kept = append(kept, f)
			total += f.LiveBytes() + overhead
		}
	}
	for _, m := range opts.MemTables {
		total += max(m.Bytes, 0)
	}

	split := min(target, max(overhead, total/int64(par)))
	split = max(split, 1)

	var parts []Part
	for _, f := range kept {
		parts = append(parts, fileParts(f, split, overhead)...)
	}
	for _, m := range opts.MemTables {
		parts = append(parts, Part{Path: m.Name, Mem: true, Rows: max(m.Rows, 0), Cost: max(m.Bytes, 0)})
	}
	if len(parts) == 0 {
		return plan
	}
	for _, p := range parts {
		plan.Rows += p.Rows
		plan.Cost += p.Cost
	}
	n := int((plan.Cost + split - 1) / split)
	n = max(min(n, len(parts)), 1)
	plan.Partitions = make([]Partition, n)
	var before int64
	for _, p := range parts {
		// The partition holding the part's cost midpoint: parts stay in
		// order and each partition's cost is close to plan.Cost / n.
		i := 0
		if plan.Cost > 0 {
			i = min(int(mulDiv(before+p.Cost/2, int64(n), plan.Cost)), n-1)
		}
		before += p.Cost
		plan.Partitions[i].Parts = append(plan.Partitions[i].Parts, p)
		plan.Partitions[i].Cost += p.Cost
	}
	// A part larger than several partitions' share leaves empty
	// partitions behind it.
	plan.Partitions = slicesDeleteEmpty(plan.Partitions)
	return plan
}

// fileParts cuts a file into parts of at most split cost where its row
// groups allow: consecutive row groups are packed until the next one would
// exceed split, and every piece but the last holds at least overhead live
// bytes.
func fileParts(f *File, split, overhead int64) []Part {
	masked := f.Deleted > 0
	cost := f.LiveBytes() + overhead
	if cost <= split || len(f.RowGroups) < 2 {
		return []Part{{Path: f.Path, Masked: masked, Rows: f.Live(), Cost: cost}}
	}
	var parts []Part
	start := 0
	var rows, bytes int64
	flush := func(end int) {
		parts = append(parts, Part{
			Path: f.Path, RowGroupStart: start, RowGroupEnd: end, Masked: masked,
			Rows: scale(rows, f.Live(), f.Rows),
			Cost: scale(bytes, f.Live(), f.Rows) + overhead,
		})
		start, rows, bytes = end, 0, 0
	}
	for i, rg := range f.RowGroups {
		next := scale(bytes+rg.Bytes, f.Live(), f.Rows) + overhead
		// Cut before row group i when the piece would outgrow split,
		// unless its live bytes do not yet outweigh the overhead a
		// piece costs: splitting further would cost more than it
		// spreads.
		if i > start && next > split && scale(bytes, f.Live(), f.Rows) >= overhead {
			flush(i)
		}
		rows += rg.Rows
		bytes += rg.Bytes
	}
	flush(len(f.RowGroups))
	return parts
}

func slicesDeleteEmpty(ps []Partition) []Partition {
	out := ps[:0]
	for _, p := range ps {
		if len(p.Parts) > 0 {
			out = append(out, p)
		}
	}
	return out
}
