package faultstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/faultstore"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/lakesql/lakesql/store/storetest"
)

// newStore returns a faultstore over a fresh mem store holding the named
// objects, each with its name as content, and the mem store.
func newStore(t *testing.T, opts faultstore.Options, names ...string) (*faultstore.Store, *mem.Store) {
	t.Helper()
	inner := mem.New()
	for _, name := range names {
		if _, err := store.PutBytes(context.Background(), inner, name, []byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	return faultstore.New(inner, opts), inner
}

// contents returns the names and contents of every object in s.
func contents(t *testing.T, s store.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	m := map[string]string{}
	for info, err := range s.List(ctx, "", "") {
		if err != nil {
			t.Fatalf("listing %s: %v", s, err)
		}
		data, err := store.ReadAll(ctx, s, info.Name)
		if err != nil {
			t.Fatal(err)
		}
		m[info.Name] = string(data)
	}
	return m
}

func names(t *testing.T, seq func(func(store.Info, error) bool)) ([]string, error) {
	t.Helper()
	var got []string
	for info, err := range seq {
		if err != nil {
			return got, err
		}
		got = append(got, info.Name)
	}
	return got, nil
}

func wantErr(t *testing.T, err, target error, op faultstore.Op, name string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
	var fe *faultstore.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *faultstore.Error", err, err)
	}
	if fe.Op != op || fe.Name != name {
		t.Fatalf("error %v is for %v %q, want %v %q", err, fe.Op, fe.Name, op, name)
	}
}

// TestConformance runs the store conformance suite through a faultstore
// whose rules never fire: wrapping must not change the store's behaviour.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return faultstore.New(mem.New(), faultstore.Options{Rules: []faultstore.Rule{
			{Prefix: "never/"},
			{Ops: faultstore.OpPut, Match: func(faultstore.Op, string) bool { return false }},
		}})
	})
}

func TestOpString(t *testing.T) {
	for _, tc := range []struct {
		op   faultstore.Op
		want string
	}{
		{faultstore.OpOpen, "Open"},
		{faultstore.OpReadAt, "ReadAt"},
		{faultstore.OpStat, "Stat"},
		{faultstore.OpList, "List"},
		{faultstore.OpPut, "Put"},
		{faultstore.OpDelete, "Delete"},
		{faultstore.OpAll, "All"},
		{faultstore.OpPut | faultstore.OpOpen, "Open|Put"},
		{0, "none"},
		{faultstore.OpDelete | 0x100, "Delete|Op(0x100)"},
	} {
		if got := tc.op.String(); got != tc.want {
			t.Errorf("Op(%#x).String() = %q, want %q", uint16(tc.op), got, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	s := faultstore.New(mem.NewNamed("x"), faultstore.Options{})
	if got, want := s.String(), "faultstore(mem://x)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	err := &faultstore.Error{Op: faultstore.OpPut, Name: "a/b", Err: faultstore.ErrInjected}
	if got, want := err.Error(), "Put a/b: faultstore: injected fault"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestErrorFault: an error fault fails the operation without reaching the
// inner store.
func TestErrorFault(t *testing.T) {
	ctx := context.Background()
	diskFull := errors.New("disk full")
	for _, tc := range []struct {
		name    string
		fault   faultstore.Fault
		op      func(s store.Store) error
		opName  faultstore.Op
		objName string
		wantErr error
	}{
		{"put new", faultstore.Fault{}, func(s store.Store) error {
			_, err := store.PutBytes(ctx, s, "b", []byte("new"))
			return err
		}, faultstore.OpPut, "b", faultstore.ErrInjected},
		{"put overwrite", faultstore.Fault{}, func(s store.Store) error {
			_, err := store.PutBytes(ctx, s, "a", []byte("new"))
			return err
		}, faultstore.OpPut, "a", faultstore.ErrInjected},
		{"put if absent", faultstore.Fault{Err: diskFull}, func(s store.Store) error {
			_, err := store.PutBytes(ctx, s, "b", []byte("new"), store.IfAbsent())
			return err
		}, faultstore.OpPut, "b", diskFull},
		{"delete", faultstore.Fault{}, func(s store.Store) error {
			return s.Delete(ctx, "a")
		}, faultstore.OpDelete, "a", faultstore.ErrInjected},
		{"delete custom error", faultstore.Fault{Err: diskFull}, func(s store.Store) error {
			return s.Delete(ctx, "a")
		}, faultstore.OpDelete, "a", diskFull},
		{"stat", faultstore.Fault{}, func(s store.Store) error {
			_, err := s.Stat(ctx, "a")
			return err
		}, faultstore.OpStat, "a", faultstore.ErrInjected},
		{"open", faultstore.Fault{}, func(s store.Store) error {
			_, err := s.Open(ctx, "a")
			return err
		}, faultstore.OpOpen, "a", faultstore.ErrInjected},
		{"lost response on a read is an error", faultstore.Fault{LostResponse: true}, func(s store.Store) error {
			_, err := s.Stat(ctx, "a")
			return err
		}, faultstore.OpStat, "a", faultstore.ErrInjected},
		{"readat", faultstore.Fault{Err: io.ErrUnexpectedEOF}, func(s store.Store) error {
			obj, err := s.Open(ctx, "a")
			if err != nil {
				return fmt.Errorf("open should pass: %v", err)
			}
			defer obj.Close()
			_, err = obj.ReadAt(make([]byte, 1), 0)
			return err
		}, faultstore.OpReadAt, "a", io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, inner := newStore(t, faultstore.Options{Rules: []faultstore.Rule{{Ops: tc.opName, Fault: tc.fault}}}, "a")
			wantErr(t, tc.op(s), tc.wantErr, tc.opName, tc.objName)
			if got := contents(t, inner); len(got) != 1 || got["a"] != "a" {
				t.Errorf("inner store holds %v, want it unchanged", got)
			}
			c := s.Stats().Of(tc.opName)
			if c.Injected != 1 || c.Errors != 1 || c.Lost != 0 || c.Faults() != 1 {
				t.Errorf("stats %+v, want 1 injected error", c)
			}
		})
	}
}

// TestLostResponse: a lost response performs the change and reports failure.
func TestLostResponse(t *testing.T) {
	ctx := context.Background()
	s, inner := newStore(t, faultstore.Options{Rules: []faultstore.Rule{
		{Ops: faultstore.OpPut | faultstore.OpDelete, Fault: faultstore.Fault{LostResponse: true}},
	}}, "a", "b")

	_, err := store.PutBytes(ctx, s, "c", []byte("new"), store.IfAbsent())
	wantErr(t, err, faultstore.ErrInjected, faultstore.OpPut, "c")
	_, err = store.PutBytes(ctx, s, "a", []byte("changed"))
	wantErr(t, err, faultstore.ErrInjected, faultstore.OpPut, "a")
	err = s.Delete(ctx, "b")
	wantErr(t, err, faultstore.ErrInjected, faultstore.OpDelete, "b")

	want := map[string]string{"a": "changed", "c": "new"}
	if got := contents(t, inner); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("inner store holds %v, want %v", got, want)
	}
	// A retry of the put-if-absent finds its own object: the caller must
	// cope with the ambiguity, which is the point.
	s.ClearRules()
	_, err = store.PutBytes(ctx, s, "c", []byte("new"), store.IfAbsent())
	if !errors.Is(err, store.ErrPreconditionFailed) {
		t.Errorf("retried put-if-absent: %v, want ErrPreconditionFailed", err)
	}
	if c := s.Stats().Of(faultstore.OpPut | faultstore.OpDelete); c.Lost != 3 || c.Errors != 0 || c.Injected != 3 {
		t.Errorf("stats %+v, want 3 lost", c)
	}
}

// op is one step of a scripted sequence of operations.
type op struct {
	op   faultstore.Op
	name string
}

// run performs ops on s and returns the outcome of each: "ok", "missing"
// (the inner store found no such object), or the fault: "injected",
// "crashed", or "lost" for a put that landed although it failed.
func run(t *testing.T, s *faultstore.Store, ops []op) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for i, o := range ops {
		var err error
		switch o.op {
		case faultstore.OpOpen:
			var obj store.Object
			if obj, err = s.Open(ctx, o.name); err == nil {
				obj.Close()
			}
		default:
			t.Fatalf("op %v is not scripted", o.op)
		case faultstore.OpStat:
			_, err = s.Stat(ctx, o.name)
		case faultstore.OpList:
			_, err = names(t, s.List(ctx, o.name, ""))
		case faultstore.OpPut:
			_, err = store.PutBytes(ctx, s, o.name, fmt.Appendf(nil, "%d", i))
		case faultstore.OpDelete:
			err = s.Delete(ctx, o.name)
		}
		switch {
		case err == nil:
			out = append(out, "ok")
		case errors.Is(err, store.ErrNotExist):
			out = append(out, "missing")
		case errors.Is(err, faultstore.ErrCrashed):
			out = append(out, "crashed")
		case errors.Is(err, faultstore.ErrInjected) && o.op == faultstore.OpPut:
			// Did it land?
			data, rerr := store.ReadAll(ctx, s.Inner(), o.name)
			if rerr == nil && string(data) == fmt.Sprint(i) {
				out = append(out, "lost")
			} else {
				out = append(out, "injected")
			}
		case errors.Is(err, faultstore.ErrInjected):
			out = append(out, "injected")
		default:
			t.Fatalf("op %d %v %s: unexpected error %v", i, o.op, o.name, err)
		}
	}
	return out
}

// TestMatching: Ops, Prefix, Match, After, Times and rule order select the
// operations that fail.
func TestMatching(t *testing.T) {
	script := []op{
		{faultstore.OpPut, "log/1"},  // 0
		{faultstore.OpStat, "log/1"}, // 1
		{faultstore.OpPut, "data/1"}, // 2
		{faultstore.OpPut, "log/2"},  // 3
		{faultstore.OpPut, "log/3"},  // 4
		{faultstore.OpDelete, "data/1"},
		{faultstore.OpPut, "log/4"}, // 6
		{faultstore.OpList, "log/"}, // 7
		{faultstore.OpOpen, "log/1"},
	}
	for _, tc := range []struct {
		name  string
		rules []faultstore.Rule
		want  string
	}{
		{"no rules", nil,
			"ok ok ok ok ok ok ok ok ok"},
		{"every op", []faultstore.Rule{{}},
			"injected injected injected injected injected injected injected injected injected"},
		{"puts", []faultstore.Rule{{Ops: faultstore.OpPut}},
			"injected ok injected injected injected ok injected ok ok"},
		{"prefix", []faultstore.Rule{{Prefix: "log/"}},
			"injected injected ok injected injected ok injected injected injected"},
		{"ops and prefix", []faultstore.Rule{{Ops: faultstore.OpPut, Prefix: "log/"}},
			"injected ok ok injected injected ok injected ok ok"},
		{"after", []faultstore.Rule{{Ops: faultstore.OpPut, Prefix: "log/", After: 2}},
			"ok ok ok ok injected ok injected ok ok"},
		{"times", []faultstore.Rule{{Ops: faultstore.OpPut, Times: 2}},
			"injected ok injected ok ok ok ok ok ok"},
		{"after and times", []faultstore.Rule{{Ops: faultstore.OpPut, After: 1, Times: 2}},
			"ok ok injected injected ok ok ok ok ok"},
		{"match", []faultstore.Rule{{Match: func(op faultstore.Op, name string) bool {
			return op == faultstore.OpPut && strings.HasSuffix(name, "3") || op == faultstore.OpList
		}}},
			"ok ok ok ok injected ok ok injected ok"},
		{"lost response", []faultstore.Rule{{Ops: faultstore.OpPut, Prefix: "log/", Times: 1, Fault: faultstore.Fault{LostResponse: true}}},
			"lost ok ok ok ok ok ok ok ok"},
		{"first rule to fire wins, every rule counts", []faultstore.Rule{
			{Ops: faultstore.OpPut, Times: 1, Fault: faultstore.Fault{LostResponse: true}},
			{Ops: faultstore.OpPut, After: 2},
		},
			"lost ok ok injected injected ok injected ok ok"},
		{"crash mid commit", []faultstore.Rule{{Ops: faultstore.OpPut, Prefix: "log/", After: 1, Fault: faultstore.Fault{LostResponse: true, Crash: true}}},
			"ok ok ok crashed crashed crashed crashed crashed crashed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, faultstore.Options{Rules: tc.rules}, "log/1")
			if got := strings.Join(run(t, s, script), " "); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestLatency: a latency delays the operation and honours the context.
func TestLatency(t *testing.T) {
	const d = 30 * time.Millisecond
	t.Run("delay only", func(t *testing.T) {
		s, inner := newStore(t, faultstore.Options{Rules: []faultstore.Rule{{Ops: faultstore.OpPut, Fault: faultstore.Fault{Latency: d}}}})
		start := time.Now()
		if _, err := store.PutBytes(context.Background(), s, "a", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < d {
			t.Errorf("put took %v, want at least %v", el, d)
		}
		if got := contents(t, inner); got["a"] != "x" {
			t.Errorf("inner store holds %v, want the put", got)
		}
		if c := s.Stats().Put; c.Delayed != 1 || c.Injected != 1 || c.Faults() != 0 {
			t.Errorf("stats %+v, want 1 delayed and no failure", c)
		}
	})
	t.Run("delay then error", func(t *testing.T) {
		s, inner := newStore(t, faultstore.Options{Rules: []faultstore.Rule{{Ops: faultstore.OpPut, Fault: faultstore.Fault{Latency: d, Err: faultstore.ErrInjected}}}})
		start := time.Now()
		_, err := store.PutBytes(context.Background(), s, "a", []byte("x"))
		wantErr(t, err, faultstore.ErrInjected, faultstore.OpPut, "a")
		if el := time.Since(start); el < d {
			t.Errorf("put took %v, want at least %v", el, d)
		}
		if got := contents(t, inner); len(got) != 0 {
			t.Errorf("inner store holds %v, want nothing", got)
		}
	})
	t.Run("readat", func(t *testing.T) {
		s, _ := newStore(t, faultstore.Options{Rules: []faultstore.Rule{{Ops: faultstore.OpReadAt, Fault: faultstore.Fault{Latency: d}}}}, "a")
		obj, err := s.Open(context.Background(), "a")
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		start := time.Now()
		buf := make([]byte, 1)
		if n, err := obj.ReadAt(buf, 0); n != 1 || err != nil || buf[0] != 'a' {
			t.Fatalf("ReadAt = %d, %v, %q", n, err, buf)
		}
		if el := time.Since(start); el < d {
			t.Errorf("ReadAt took %v, want at least %v", el, d)
		}
	})
	for _, o := range []faultstore.Op{faultstore.OpPut, faultstore.OpStat, faultstore.OpList, faultstore.OpOpen, faultstore.OpDelete} {
		t.Run("cancelled "+o.String(), func(t *testing.T) {
			s, inner := newStore(t, faultstore.Options{Rules: []faultstore.Rule{{Fault: faultstore.Fault{Latency: 5 * time.Second}}}}, "a")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			start := time.Now()
			var err error
			switch o {
			case faultstore.OpPut:
				_, err = store.PutBytes(ctx, s, "a", []byte("x"))
			case faultstore.OpStat:
				_, err = s.Stat(ctx, "a")
			case faultstore.OpList:
				_, err = names(t, s.List(ctx, "a", ""))
			case faultstore.OpOpen:
				_, err = s.Open(ctx, "a")
			case faultstore.OpDelete:
				err = s.Delete(ctx, "a")
			}
			wantErr(t, err, context.DeadlineExceeded, o, "a")
			if el := time.Since(start); el > time.Second {
				t.Errorf("cancelled %v took %v", o, el)
			}
			if got := contents(t, inner); len(got) != 1 || got["a"] != "a" {
				t.Errorf("inner store holds %v, want it unchanged", got)
			}
		})
	}
}

// TestCrash: in the crashed state every operation fails, including ReadAt on
// objects opened before and List sequences being read; Recover restores.
func TestCrash(t *testing.T) {
	ctx := context.Background()
	s, inner := newStore(t, faultstore.Options{}, "a", "b", "c")
	obj, err := s.Open(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	buf := make([]byte, 1)
	if _, err := obj.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}

	// Crash while a List sequence is being read.
	var listed []string
	var listErr error
	for info, err := range s.List(ctx, "", "") {
		if err != nil {
			listErr = err
			break
		}
		listed = append(listed, info.Name)
		if len(listed) == 1 {
			s.Crash()
		}
	}
	if len(listed) != 1 {
		t.Errorf("listed %v after the crash", listed)
	}
	wantErr(t, listErr, faultstore.ErrCrashed, faultstore.OpList, "")
	if !s.Crashed() {
		t.Fatal("not crashed after Crash")
	}

	checkAll := func(t *testing.T, want error) {
		t.Helper()
		_, err := obj.ReadAt(buf, 0)
		wantErr(t, err, faultstore.ErrCrashed, faultstore.OpReadAt, "a")
		check := func(err error, op faultstore.Op, name string) {
			t.Helper()
			if want == nil {
				if err != nil {
					t.Errorf("%v %s: %v", op, name, err)
				}
				return
			}
			wantErr(t, err, want, op, name)
		}
		_, err = s.Stat(ctx, "a")
		check(err, faultstore.OpStat, "a")
		o, err := s.Open(ctx, "b")
		check(err, faultstore.OpOpen, "b")
		if err == nil {
			if _, err := o.ReadAt(buf, 0); err != nil || buf[0] != 'b' {
				t.Errorf("ReadAt on a new object: %v, %q", err, buf)
			}
			o.Close()
		}
		_, err = names(t, s.List(ctx, "", ""))
		check(err, faultstore.OpList, "")
		_, err = store.PutBytes(ctx, s, "d", []byte("d"))
		check(err, faultstore.OpPut, "d")
		err = s.Delete(ctx, "c")
		check(err, faultstore.OpDelete, "c")
	}
	checkAll(t, faultstore.ErrCrashed)
	if got := contents(t, inner); fmt.Sprint(got) != "map[a:a b:b c:c]" {
		t.Errorf("crashed store changed its inner store: %v", got)
	}
	st := s.Stats()
	if tot := st.Total(); tot.Rejected != 7 || tot.Injected != 0 || st.Crashes != 1 {
		t.Errorf("stats %+v: want 7 rejected and 1 crash", st)
	}

	s.Recover()
	if s.Crashed() {
		t.Fatal("crashed after Recover")
	}
	// Everything works again except the object opened before the crash.
	checkAll(t, nil)
	if got := contents(t, inner); fmt.Sprint(got) != "map[a:a b:b d:d]" {
		t.Errorf("after recovery the inner store holds %v", got)
	}
	if st := s.Stats(); st.Recoveries != 1 {
		t.Errorf("Recoveries = %d, want 1", st.Recoveries)
	}
}

// TestCrashRule: a rule crashes the store before or after its put lands.
func TestCrashRule(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		fault faultstore.Fault
		want  string
	}{
		{"before", faultstore.Fault{Crash: true}, "map[a:a]"},
		{"after", faultstore.Fault{LostResponse: true, Crash: true}, "map[a:a b:b]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, inner := newStore(t, faultstore.Options{Rules: []faultstore.Rule{{Ops: faultstore.OpPut, Times: 1, Fault: tc.fault}}}, "a")
			_, err := store.PutBytes(ctx, s, "b", []byte("b"))
			wantErr(t, err, faultstore.ErrCrashed, faultstore.OpPut, "b")
			if !s.Crashed() {
				t.Fatal("not crashed")
			}
			if got := fmt.Sprint(contents(t, inner)); got != tc.want {
				t.Errorf("inner store holds %s, want %s", got, tc.want)
			}
			_, err = s.Stat(ctx, "a")
			wantErr(t, err, faultstore.ErrCrashed, faultstore.OpStat, "a")
			s.Recover()
			// Times: 1, so the rule is spent.
			if _, err := store.PutBytes(ctx, s, "c", []byte("c")); err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			if st.Put.Crashes != 1 || st.Crashes != 1 || st.Stat.Rejected != 1 || st.Put.Calls != 2 {
				t.Errorf("stats %+v", st)
			}
			if tc.fault.LostResponse && (st.Put.Lost != 1 || st.Put.Errors != 0) ||
				!tc.fault.LostResponse && (st.Put.Lost != 0 || st.Put.Errors != 1) {
				t.Errorf("put stats %+v", st.Put)
			}
		})
	}
}

// TestListFaults: a List fault fails the sequence before the first item or
// after some.
func TestListFaults(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		rule      faultstore.Rule
		want      string
		wantErr   error
		crashed   bool
		wantCount faultstore.Counts
	}{
		{"immediately", faultstore.Rule{Ops: faultstore.OpList}, "", faultstore.ErrInjected, false,
			faultstore.Counts{Calls: 1, Injected: 1, Errors: 1}},
		{"after 2", faultstore.Rule{Ops: faultstore.OpList, ListItems: 2}, "a b", faultstore.ErrInjected, false,
			faultstore.Counts{Calls: 1, Injected: 1, Errors: 1}},
		{"after more than there are", faultstore.Rule{Ops: faultstore.OpList, ListItems: 10}, "a b c", faultstore.ErrInjected, false,
			faultstore.Counts{Calls: 1, Injected: 1, Errors: 1}},
		{"crash after 1", faultstore.Rule{Ops: faultstore.OpList, ListItems: 1, Fault: faultstore.Fault{Crash: true}}, "a", faultstore.ErrCrashed, true,
			faultstore.Counts{Calls: 1, Injected: 1, Errors: 1, Crashes: 1}},
		{"latency only", faultstore.Rule{Ops: faultstore.OpList, ListItems: 1, Fault: faultstore.Fault{Latency: time.Millisecond}}, "a b c", nil, false,
			faultstore.Counts{Calls: 1, Injected: 1, Delayed: 1}},
		{"other prefix", faultstore.Rule{Ops: faultstore.OpList, Prefix: "z"}, "a b c", nil, false,
			faultstore.Counts{Calls: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, faultstore.Options{Rules: []faultstore.Rule{tc.rule}}, "a", "b", "c")
			got, err := names(t, s.List(ctx, "", ""))
			if strings.Join(got, " ") != tc.want {
				t.Errorf("listed %q, want %q", got, tc.want)
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if s.Crashed() != tc.crashed {
				t.Errorf("Crashed() = %v, want %v", s.Crashed(), tc.crashed)
			}
			if c := s.Stats().List; c != tc.wantCount {
				t.Errorf("stats %+v, want %+v", c, tc.wantCount)
			}
		})
	}
}

// randomScript is a long, varied sequence of operations.
func randomScript(n int) []op {
	kinds := []faultstore.Op{faultstore.OpPut, faultstore.OpStat, faultstore.OpPut, faultstore.OpOpen, faultstore.OpList, faultstore.OpDelete}
	ops := make([]op, n)
	for i := range ops {
		ops[i] = op{kinds[i%len(kinds)], fmt.Sprintf("k/%d", i%7)}
	}
	return ops
}

// TestRandom: random faults are deterministic for a seed and occur at the
// requested rate.
func TestRandom(t *testing.T) {
	const n, prob = 1200, 0.2
	script := randomScript(n)
	quiet := func(string, ...any) {}
	results := func(seed int64) ([]string, *faultstore.Store) {
		opts := faultstore.Random(seed, prob, faultstore.OpAll)
		opts.Logf = quiet
		s := faultstore.New(mem.New(), opts)
		return run(t, s, script), s
	}
	a, sa := results(7)
	b, sb := results(7)
	c, _ := results(8)
	if strings.Join(a, " ") != strings.Join(b, " ") {
		t.Fatal("two stores with the same seed injected different faults")
	}
	if sa.Stats() != sb.Stats() {
		t.Errorf("same seed, different stats:\n%+v\n%+v", sa.Stats(), sb.Stats())
	}
	if strings.Join(a, " ") == strings.Join(c, " ") {
		t.Error("two stores with different seeds injected the same faults")
	}

	counts := map[string]int{}
	for _, r := range a {
		counts[r]++
	}
	failed := counts["injected"] + counts["lost"]
	t.Logf("seed 7, prob %v: %v", prob, counts)
	if rate := float64(failed) / n; rate < prob-0.05 || rate > prob+0.05 {
		t.Errorf("fault rate %.3f (%v), want about %v", rate, counts, prob)
	}
	if counts["crashed"] != 0 || counts["lost"] == 0 {
		t.Errorf("outcomes %v: want lost responses and no crash", counts)
	}
	tot := sa.Stats().Total()
	if tot.Calls != n || tot.Faults() != failed || tot.Injected != failed {
		t.Errorf("stats %+v, want %d calls and %d faults", tot, n, failed)
	}
	if lost := sa.Stats().Of(faultstore.OpPut | faultstore.OpDelete).Lost; lost < counts["lost"] {
		t.Errorf("%d lost responses counted, %d puts observed lost", lost, counts["lost"])
	}

	// Restricted to some operations, and off.
	opts := faultstore.Random(1, 0.5, faultstore.OpStat)
	opts.Logf = quiet
	s := faultstore.New(mem.New(), opts)
	run(t, s, script)
	st := s.Stats()
	if st.Stat.Faults() == 0 || st.Total().Faults() != st.Stat.Faults() {
		t.Errorf("Random(OpStat) injected %+v", st)
	}
	s = faultstore.New(mem.New(), faultstore.Random(1, 0, faultstore.OpAll))
	run(t, s, script)
	if st := s.Stats().Total(); st.Injected != 0 {
		t.Errorf("Random with prob 0 injected %+v", st)
	}
	s = faultstore.New(mem.New(), faultstore.Random(1, 1, faultstore.OpAll))
	run(t, s, script)
	if st := s.Stats().Total(); st.Faults() != n || st.Lost == 0 || st.Errors == 0 {
		t.Errorf("Random with prob 1 injected %+v, want every op to fail", st)
	}
}

// TestProb: a rule's Prob is honoured.
func TestProb(t *testing.T) {
	s, _ := newStore(t, faultstore.Options{Seed: 3, Logf: func(string, ...any) {}, Rules: []faultstore.Rule{{Ops: faultstore.OpStat, Prob: 0.1}}})
	for range 1000 {
		s.Stat(context.Background(), "x")
	}
	if c := s.Stats().Stat; c.Calls != 1000 || c.Injected < 70 || c.Injected > 130 {
		t.Errorf("Prob 0.1 over 1000 stats: %+v", c)
	}
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, faultstore.Options{Rules: []faultstore.Rule{
		{Ops: faultstore.OpPut, Times: 1},
		{Ops: faultstore.OpPut, Times: 1, Fault: faultstore.Fault{LostResponse: true}},
		{Ops: faultstore.OpStat, Times: 1, Fault: faultstore.Fault{Latency: time.Millisecond}},
		{Ops: faultstore.OpReadAt, After: 1, Times: 1},
	}}, "a")
	for range 3 {
		store.PutBytes(ctx, s, "b", []byte("b")) // error, lost, ok
	}
	for range 2 {
		s.Stat(ctx, "a") // delayed, ok
	}
	obj, err := s.Open(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	for range 3 {
		obj.ReadAt(buf, 0) // ok, error, ok
	}
	s.Crash()
	obj.ReadAt(buf, 0)
	s.Delete(ctx, "a")
	s.Recover()
	s.Recover() // not crashed: not counted

	want := faultstore.Stats{
		Put:        faultstore.Counts{Calls: 3, Injected: 2, Errors: 1, Lost: 1},
		Stat:       faultstore.Counts{Calls: 2, Injected: 1, Delayed: 1},
		Open:       faultstore.Counts{Calls: 1},
		ReadAt:     faultstore.Counts{Calls: 4, Injected: 1, Errors: 1, Rejected: 1},
		Delete:     faultstore.Counts{Calls: 1, Rejected: 1},
		Crashes:    1,
		Recoveries: 1,
	}
	if got := s.Stats(); got != want {
		t.Errorf("stats\n got %+v\nwant %+v", got, want)
	}
	wantTotal := faultstore.Counts{Calls: 11, Injected: 4, Delayed: 1, Errors: 2, Lost: 1, Rejected: 2}
	if got := s.Stats().Total(); got != wantTotal {
		t.Errorf("total %+v, want %+v", got, wantTotal)
	}
}

// TestAddClearRules: rules can change on a live store.
func TestAddClearRules(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, faultstore.Options{}, "a")
	if _, err := s.Stat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	s.AddRule(faultstore.Rule{Ops: faultstore.OpStat})
	_, err := s.Stat(ctx, "a")
	wantErr(t, err, faultstore.ErrInjected, faultstore.OpStat, "a")
	s.ClearRules()
	if _, err := s.Stat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidRule(t *testing.T) {
	for _, r := range []faultstore.Rule{
		{After: -1},
		{Times: -1},
		{ListItems: -1},
		{Prob: -0.1},
		{Prob: 1.5},
		{Ops: 0x100},
		{Fault: faultstore.Fault{Latency: -1}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AddRule(%+v) did not panic", r)
				}
			}()
			faultstore.New(mem.New(), faultstore.Options{}).AddRule(r)
		}()
	}
}

// TestConcurrent exercises the store from several goroutines (for -race) and
// checks that every operation is counted.
func TestConcurrent(t *testing.T) {
	opts := faultstore.Random(5, 0.3, faultstore.OpAll)
	s := faultstore.New(mem.New(), opts)
	ctx := context.Background()
	const workers, each = 8, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("w%d/%d", w, i%5)
				store.PutBytes(ctx, s, name, []byte(name))
				store.ReadAll(ctx, s, name)
				names(t, s.List(ctx, fmt.Sprintf("w%d/", w), ""))
				if i%10 == 9 {
					s.Crash()
					s.Recover()
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.Put.Calls != workers*each || st.List.Calls != workers*each || st.Open.Calls != workers*each {
		t.Errorf("stats %+v", st)
	}
	if st.Total().Faults() == 0 {
		t.Errorf("no faults injected: %+v", st)
	}
}
