package txn

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// The test DSL writes log entries in short lines:
//
//	entry [op=NAME] [version] [ts=N] [epoch=N] [preserve]   begins an entry
//	  table ID NAME [key=1,2]
//	  drop ID | truncate ID
//	  add TABLE PATH [rows=N] [dv=N] [gen=N] [rowid=N]
//	  remove TABLE PATH
//	  wal EPOCH POSITION
//	  txn APP VERSION
//	  protocol READER WRITER
//
// Action lines are indented; the directive's own arguments work like an
// entry line's.

type dslBlock struct {
	head  []string // the words of the block's first line
	lines [][]string
}

// parseBlocks splits input into blocks: an unindented line begins a block,
// indented lines belong to it.
func parseBlocks(t *testing.T, input string) []dslBlock {
	var blocks []dslBlock
	for _, ln := range strings.Split(input, "\n") {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		words := strings.Fields(ln)
		if ln[0] != ' ' && ln[0] != '\t' {
			blocks = append(blocks, dslBlock{head: words})
			continue
		}
		if len(blocks) == 0 {
			t.Fatalf("action line %q before any entry", ln)
		}
		b := &blocks[len(blocks)-1]
		b.lines = append(b.lines, words)
	}
	return blocks
}

// kv splits "key=value" words from plain flags.
func kv(words []string) (map[string]string, map[string]bool) {
	vals, flags := map[string]string{}, map[string]bool{}
	for _, w := range words {
		if k, v, ok := strings.Cut(w, "="); ok {
			vals[k] = v
		} else {
			flags[w] = true
		}
	}
	return vals, flags
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

func ints(t *testing.T, s string) []int {
	var out []int
	for _, p := range strings.Split(s, ",") {
		out = append(out, int(atoi(t, p)))
	}
	return out
}

// parseEntry builds an entry (or a Commit's actions) from a block.
func parseEntry(t *testing.T, b dslBlock, number int64) (*Entry, map[string]string, map[string]bool) {
	vals, flags := kv(b.head[1:])
	e := &Entry{Number: number}
	ci := &e.CommitInfo
	ci.ID = fmt.Sprintf("commit-%d", number)
	ci.Operation = vals["op"]
	ci.DataChange = !flags["preserve"]
	if v, ok := vals["ts"]; ok {
		ci.Timestamp = atoi(t, v)
	}
	if v, ok := vals["epoch"]; ok {
		ci.Epoch = atoi(t, v)
	}
	if v, ok := vals["version"]; ok {
		ci.UserVersion = atoi(t, v)
	}
	for _, ln := range b.lines {
		args, _ := kv(ln[1:])
		pos := func(i int) string {
			if i+1 >= len(ln) {
				t.Fatalf("%q needs more arguments", strings.Join(ln, " "))
			}
			return ln[i+1]
		}
		switch ln[0] {
		case "table":
			tb := Table{ID: pos(0), Name: pos(1)}
			if k, ok := args["key"]; ok {
				tb.Key = ints(t, k)
			}
			e.Tables = append(e.Tables, tb)
		case "drop":
			e.Drops = append(e.Drops, DropTable{ID: pos(0)})
		case "truncate":
			e.Truncates = append(e.Truncates, Truncate{ID: pos(0)})
		case "add":
			a := Add{Table: pos(0), Path: pos(1), Kind: KindFlushed, Rows: 10, DataChange: ci.DataChange}
			if v, ok := args["rows"]; ok {
				a.Rows = atoi(t, v)
			}
			a.Bytes = a.Rows * 100
			if v, ok := args["dv"]; ok {
				a.DV = &DeletionVector{Inline: []byte("dv"), Cardinality: atoi(t, v)}
			}
			if v, ok := args["gen"]; ok {
				a.Generation = atoi(t, v)
			}
			if v, ok := args["rowid"]; ok {
				a.BaseRowID = atoi(t, v)
			}
			e.Adds = append(e.Adds, a)
		case "remove":
			e.Removes = append(e.Removes, Remove{Table: pos(0), Path: pos(1), DeletionTimestamp: ci.Timestamp, DataChange: ci.DataChange})
		case "wal":
			e.WAL = &WALPosition{Epoch: atoi(t, pos(0)), Position: atoi(t, pos(1))}
		case "txn":
			e.Txns = append(e.Txns, Txn{AppID: pos(0), Version: atoi(t, pos(1))})
		case "protocol":
			e.Protocol = &Protocol{MinReader: int(atoi(t, pos(0))), MinWriter: int(atoi(t, pos(1)))}
		default:
			t.Fatalf("unknown action %q", ln[0])
		}
	}
	return e, vals, flags
}

// commitFromEntry turns a parsed entry into a Commit.
func commitFromEntry(e *Entry, flags map[string]bool) *Commit {
	return &Commit{
		Operation: e.CommitInfo.Operation, CreatesVersion: flags["version"] || e.CommitInfo.UserVersion > 0,
		Preserve: !e.CommitInfo.DataChange, Epoch: e.CommitInfo.Epoch, Protocol: e.Protocol,
		Tables: e.Tables, Drops: e.Drops, Truncates: e.Truncates, Removes: e.Removes, Adds: e.Adds,
		WAL: e.WAL, Txns: e.Txns,
	}
}

// formatState prints a state for golden output.
func formatState(s *State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "entry %d, version %d, timestamp %d\n", s.Entry, s.Version, s.Timestamp)
	fmt.Fprintf(&b, "next generation %d, next row id %d\n", s.NextGeneration, s.NextRowID)
	if s.WAL != (WALPosition{}) || s.MaxEpoch != 0 {
		fmt.Fprintf(&b, "wal epoch %d position %d, max epoch %d\n", s.WAL.Epoch, s.WAL.Position, s.MaxEpoch)
	}
	for _, t := range s.Tables() {
		fmt.Fprintf(&b, "table %s %q key=%v: %d files, %d rows, %d live, %d bytes\n",
			t.Meta.ID, t.Meta.Name, t.Meta.Key, t.FileCount(), t.Rows, t.LiveRows, t.Bytes)
		t.Files(func(a *Add) bool {
			fmt.Fprintf(&b, "  %s gen=%d rowid=%d rows=%d", a.Path, a.Generation, a.BaseRowID, a.Rows)
			if a.DV != nil {
				fmt.Fprintf(&b, " dv=%d", a.DV.Cardinality)
			}
			b.WriteString("\n")
			return true
		})
	}
	first := true
	s.Tombstones(func(r *Remove) bool {
		if first {
			b.WriteString("tombstones:\n")
			first = false
		}
		fmt.Fprintf(&b, "  %s (table %s) removed at %d, %d bytes\n", r.Path, r.Table, r.DeletionTimestamp, r.Bytes)
		return true
	})
	for _, app := range sortedKeys(s.txns) {
		fmt.Fprintf(&b, "app %s at version %d\n", app, s.txns[app])
	}
	for _, v := range s.Versions {
		fmt.Fprintf(&b, "v%d: branch %s entry %d at %d %s\n", v.Version, v.BranchID, v.Entry, v.Timestamp, v.Operation)
	}
	return b.String()
}

// TestReplay replays entries from an empty state (testdata/replay).
func TestReplay(t *testing.T) {
	datadriven.RunTest(t, "testdata/replay", func(t *testing.T, d *datadriven.TestData) string {
		switch d.Cmd {
		case "replay":
			s := NewState(Protocol{MinReader: 1, MinWriter: 1})
			for i, b := range parseBlocks(t, d.Input) {
				e, _, _ := parseEntry(t, b, int64(i+1))
				next, err := s.Apply("main", e)
				if err != nil {
					return fmt.Sprintf("error: %v\n", err)
				}
				s = next
			}
			// Every state survives a checkpoint round trip.
			rows := s.checkpointRows(0)
			data, err := encodeCheckpoint(s.Entry, rows)
			if err != nil {
				t.Fatal(err)
			}
			back, err := decodeCheckpoint("ck", data, s.Entry)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := stateFromCheckpoint("ck", back)
			if err != nil {
				t.Fatal(err)
			}
			s2.Versions = s.Versions // compared through formatState below
			if got, want := formatState(s2), formatState(s); got != want {
				t.Fatalf("checkpoint round trip changed the state:\n%s\nwant\n%s", got, want)
			}
			return formatState(s)
		default:
			t.Fatalf("unknown command %q", d.Cmd)
			return ""
		}
	})
}

// TestConflicts runs CheckConflicts (testdata/conflicts): the block "mine"
// is the commit, "winner" blocks the entries that won; "mine" may name
// reads=t1,t2.
func TestConflicts(t *testing.T) {
	datadriven.RunTest(t, "testdata/conflicts", func(t *testing.T, d *datadriven.TestData) string {
		if d.Cmd != "check" {
			t.Fatalf("unknown command %q", d.Cmd)
		}
		var mine *Entry
		var reads []string
		var winners []*Entry
		for i, b := range parseBlocks(t, d.Input) {
			e, vals, _ := parseEntry(t, b, int64(10+i))
			switch b.head[0] {
			case "mine":
				mine = e
				if r, ok := vals["reads"]; ok {
					reads = strings.Split(r, ",")
				}
			case "winner":
				winners = append(winners, e)
			default:
				t.Fatalf("block %q: want mine or winner", b.head[0])
			}
		}
		carry, err := CheckConflicts(mine, reads, winners)
		if err != nil {
			return fmt.Sprintf("error: %v\n", err)
		}
		if len(carry) == 0 {
			return "ok: rebase\n"
		}
		var b strings.Builder
		b.WriteString("ok: rebase, carrying forward\n")
		for _, a := range carry {
			fmt.Fprintf(&b, "  %s dv=%d\n", a.Path, a.DV.Cardinality)
		}
		return b.String()
	})
}
