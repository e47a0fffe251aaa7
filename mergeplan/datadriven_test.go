package mergeplan

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// The DSL of testdata/scan and testdata/merge:
//
//	files                     the input block lists the table's files, one a line:
//	  <path> rows=N [deleted=N] bytes=N [gen=N] [kind=base|flushed] [keys=MIN..MAX]
//	         [rgs=ROWS/BYTES,ROWS/BYTES,...]
//	probe-depth
//	plan-scan [parallelism=N] [target=N] [overhead=N] [range=MIN..MAX|MIN..] [mem=NAME/ROWS/BYTES,...]
//	plan-merge [max-depth=N] [rewrite=F] [max-input=N] [target=N]
//	                          prints the merges and the probe depth before and after
//	                          applying them (Apply)
//
// Keys are written as plain strings; their bytes are the keys.
func TestDataDriven(t *testing.T) {
	for _, name := range []string{"testdata/scan", "testdata/merge"} {
		t.Run(name, func(t *testing.T) {
			var files []File
			datadriven.RunTest(t, name, func(t *testing.T, d *datadriven.TestData) string {
				args := map[string]string{}
				for _, a := range d.CmdArgs {
					args[a.Key] = strings.Join(a.Vals, ",")
				}
				switch d.Cmd {
				case "files":
					files = nil
					for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
						if line = strings.TrimSpace(line); line != "" {
							files = append(files, parseFile(t, line))
						}
					}
					return fmt.Sprintf("%d files, probe depth %d\n", len(files), ProbeDepth(files))
				case "probe-depth":
					return fmt.Sprintf("%d\n", ProbeDepth(files))
				case "plan-scan":
					opts := ScanOptions{
						Parallelism:          int(intArg(t, args, "parallelism")),
						TargetPartitionBytes: intArg(t, args, "target"),
						FileOverhead:         intArg(t, args, "overhead"),
					}
					if r, ok := args["range"]; ok {
						kr := parseRange(t, r)
						opts.KeyRange = &kr
					}
					if m, ok := args["mem"]; ok {
						for _, s := range strings.Split(m, ",") {
							p := strings.Split(s, "/")
							if len(p) != 3 {
								t.Fatalf("mem=%s: want NAME/ROWS/BYTES", s)
							}
							opts.MemTables = append(opts.MemTables, MemTable{Name: p[0], Rows: atoi(t, p[1]), Bytes: atoi(t, p[2])})
						}
					}
					return formatScan(PlanScan(files, opts))
				case "plan-merge":
					opts := MergeOptions{
						MaxProbeDepth:   int(intArg(t, args, "max-depth")),
						MaxInputBytes:   intArg(t, args, "max-input"),
						TargetFileBytes: intArg(t, args, "target"),
						MaxSmallFiles:   int(intArg(t, args, "max-small")),
						SmallFileBytes:  intArg(t, args, "small"),
					}
					if s, ok := args["rewrite"]; ok {
						f, err := strconv.ParseFloat(s, 64)
						if err != nil {
							t.Fatal(err)
						}
						opts.RewriteFraction = f
					}
					merges := PlanMerges(files, opts)
					var b strings.Builder
					for _, m := range merges {
						b.WriteString(formatMerge(m))
					}
					if len(merges) == 0 {
						b.WriteString("no merges\n")
					}
					fmt.Fprintf(&b, "probe depth %d -> %d\n", ProbeDepth(files), ProbeDepth(Apply(files, merges)))
					return b.String()
				}
				t.Fatalf("unknown command %q", d.Cmd)
				return ""
			})
		})
	}
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func intArg(t *testing.T, args map[string]string, key string) int64 {
	t.Helper()
	s, ok := args[key]
	if !ok {
		return 0
	}
	return atoi(t, s)
}

func parseRange(t *testing.T, s string) Range {
	t.Helper()
	lo, hi, ok := strings.Cut(s, "..")
	if !ok {
		t.Fatalf("range %q: want MIN..MAX", s)
	}
	if hi == "" {
		return Range{Min: Key(lo), NoMax: true}
	}
	return Range{Min: Key(lo), Max: Key(hi)}
}

func parseFile(t *testing.T, line string) File {
	t.Helper()
	fields := strings.Fields(line)
	f := File{Path: fields[0], Kind: Flushed}
	for _, kv := range fields[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("%q: want key=value", kv)
		}
		switch k {
		case "rows":
			f.Rows = atoi(t, v)
		case "deleted":
			f.Deleted = atoi(t, v)
		case "bytes":
			f.Bytes = atoi(t, v)
		case "gen":
			f.Generation = atoi(t, v)
		case "kind":
			switch v {
			case "base":
				f.Kind = Base
			case "flushed":
				f.Kind = Flushed
			default:
				t.Fatalf("kind %q", v)
			}
		case "keys":
			r := parseRange(t, v)
			f.Keys = &r
		case "rgs":
			for _, rg := range strings.Split(v, ",") {
				rows, bytes, ok := strings.Cut(rg, "/")
				if !ok {
					t.Fatalf("rgs %q: want ROWS/BYTES", rg)
				}
				f.RowGroups = append(f.RowGroups, RowGroup{Rows: atoi(t, rows), Bytes: atoi(t, bytes)})
			}
		default:
			t.Fatalf("unknown file attribute %q", k)
		}
	}
	return f
}

func formatRange(r *Range) string {
	if r.NoMax {
		return string(r.Min) + ".."
	}
	return string(r.Min) + ".." + string(r.Max)
}

func formatScan(p ScanPlan) string {
	var b strings.Builder
	for _, s := range p.Skipped {
		fmt.Fprintf(&b, "skip %s: %s\n", s.Path, s.Reason)
	}
	for i, part := range p.Partitions {
		fmt.Fprintf(&b, "partition %d cost=%d:", i, part.Cost)
		for _, pt := range part.Parts {
			b.WriteString(" ")
			b.WriteString(pt.Path)
			if pt.Mem {
				b.WriteString("(mem)")
			}
			if !pt.Whole() {
				fmt.Fprintf(&b, "[rg %d-%d]", pt.RowGroupStart, pt.RowGroupEnd-1)
			}
			if pt.Masked {
				b.WriteString("*")
			}
			fmt.Fprintf(&b, "(%d rows, %d)", pt.Rows, pt.Cost)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "total: %d partitions, %d rows, cost %d\n", len(p.Partitions), p.Rows, p.Cost)
	return b.String()
}

func formatMerge(m Merge) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", m.Reason, strings.Join(m.Inputs, " "))
	if len(m.Runs) > 0 {
		var runs []string
		for _, r := range m.Runs {
			runs = append(runs, "["+strings.Join(r, " ")+"]")
		}
		fmt.Fprintf(&b, " runs=%s", strings.Join(runs, ""))
	}
	fmt.Fprintf(&b, ": in=%d out rows=%d bytes=%d files=%d", m.InputBytes, m.OutputRows, m.OutputBytes, m.OutputFiles)
	if m.KeyRange != nil {
		fmt.Fprintf(&b, " keys=%s", formatRange(m.KeyRange))
	}
	if m.OutputFiles > 0 {
		fmt.Fprintf(&b, " kind=%s", m.Kind)
		if m.Disjoint {
			b.WriteString(" disjoint")
		}
	}
	b.WriteString("\n")
	return b.String()
}
