package lease

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
)

func TestEncodeDecode(t *testing.T) {
	self := Self()
	for _, l := range []Lease{
		{Holder: self, Epoch: 1, Expiry: time.Date(2026, 3, 1, 10, 0, 10, 500, time.UTC)},
		{Holder: Holder{Host: "h", PID: 7, ID: "x"}, Epoch: 1 << 40}, // released
	} {
		got, err := decode("n", encode(l))
		if err != nil {
			t.Fatal(err)
		}
		if got != l {
			t.Errorf("decode(encode(%+v)) = %+v", l, got)
		}
	}
}

func TestSelf(t *testing.T) {
	a, b := Self(), Self()
	if a.ID == "" || a.ID == b.ID {
		t.Errorf("holder ids %q and %q: want distinct, not empty", a.ID, b.ID)
	}
	if a.PID == 0 || a.Host == "" {
		t.Errorf("Self() = %+v", a)
	}
	if a.BootID != "" && (a.StartTicks == 0 || a.Start.IsZero()) {
		t.Errorf("Self() has a boot id but no start time: %+v", a)
	}
	if a.BootID != "" && processGone(a) {
		t.Errorf("this process is gone: %+v", a)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	for _, tc := range []struct {
		body    string
		corrupt bool
	}{
		{`{not json`, true},
		{``, true},
		{`{"version":1,"holder":{"id":"x"},"epoch":0,"expiry":"0001-01-01T00:00:00Z"}`, true},
		{`{"version":1,"holder":{"host":"h"},"epoch":3,"expiry":"0001-01-01T00:00:00Z"}`, true},
		{`{"version":0,"holder":{"id":"x"},"epoch":3}`, true},
		{`{"version":1,"holder":{"id":"x"},"epoch":3,"expiry":"yesterday"}`, true},
		{`{"version":1,"holder":{"id":"x"},"epoch":3} trailing`, true},
		{`{"version":2,"holder":{"id":"x"},"epoch":3}`, false},
	} {
		_, err := decode("some/LEASE", []byte(tc.body))
		if err == nil {
			t.Errorf("decode(%q): no error", tc.body)
			continue
		}
		if errors.Is(err, base.ErrCorruption) != tc.corrupt || !strings.Contains(err.Error(), "some/LEASE") {
			t.Errorf("decode(%q) = %v; want corruption %v, naming the object", tc.body, err, tc.corrupt)
		}
	}
}

// TestCorruptLeaseIsNotOverwritten: Acquire reports a corrupt lease as
// corruption naming it, and leaves it as it is.
func TestCorruptLeaseIsNotOverwritten(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	body := []byte(`{"version":1,"holder":{"id":"x"`)
	if _, err := store.PutBytes(ctx, st, leaseName, body); err != nil {
		t.Fatal(err)
	}
	_, err := Acquire(ctx, st, leaseName, Options{})
	if !errors.Is(err, base.ErrCorruption) || !strings.Contains(err.Error(), leaseName) {
		t.Fatalf("Acquire on a corrupt lease: %v; want corruption naming %s", err, leaseName)
	}
	if _, _, _, err := Read(ctx, st, leaseName); !errors.Is(err, base.ErrCorruption) {
		t.Errorf("Read: %v", err)
	}
	got, err := store.ReadAll(ctx, st, leaseName)
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("lease after Acquire: %q, %v; want it untouched", got, err)
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	const slack = time.Second
	self := Holder{Host: "a", PID: 10, BootID: "boot1", PIDNamespace: "pid:[1]", ID: "me"}
	on := func(host, boot, ns string, pid int) Holder {
		return Holder{Host: host, BootID: boot, PIDNamespace: ns, PID: pid, ID: "them"}
	}
	deadPIDs := map[int]bool{99: true}
	gone := func(h Holder) bool { return deadPIDs[h.PID] }
	live := now.Add(5 * time.Second)
	for _, tc := range []struct {
		name   string
		l      Lease
		exists bool
		want   action
		why    string
	}{
		{"missing", Lease{}, false, actCreate, "no lease"},
		{"live", Lease{on("b", "boot2", "", 12), 3, live}, true, actHeld, "held"},
		{"released", Lease{on("b", "boot2", "", 12), 3, time.Time{}}, true, actTakeOver, "released"},
		{"expired", Lease{on("b", "boot2", "", 12), 3, now.Add(-slack - 1)}, true, actTakeOver, "expired"},
		{"within slack", Lease{on("b", "boot2", "", 12), 3, now.Add(-slack)}, true, actHeld, "held"},
		{"same host, dead pid", Lease{on("a", "boot1", "pid:[1]", 99), 3, live}, true, actTakeOver, "holder process gone"},
		{"same host, live pid", Lease{on("a", "boot1", "pid:[1]", 12), 3, live}, true, actHeld, "held"},
		{"other host, dead pid", Lease{on("b", "boot1", "pid:[1]", 99), 3, live}, true, actHeld, "held"},
		{"other boot, dead pid", Lease{on("a", "boot0", "pid:[1]", 99), 3, live}, true, actHeld, "held"},
		{"other pid namespace, dead pid", Lease{on("a", "boot1", "pid:[2]", 99), 3, live}, true, actHeld, "held"},
		{"unknown boot, dead pid", Lease{on("a", "", "pid:[1]", 99), 3, live}, true, actHeld, "held"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			me := self
			if tc.name == "unknown boot, dead pid" {
				me.BootID = ""
			}
			act, why := decide(tc.l, tc.exists, now, slack, me, gone)
			if act != tc.want || why != tc.why {
				t.Errorf("decide = %v %q; want %v %q", act, why, tc.want, tc.why)
			}
		})
	}
}
