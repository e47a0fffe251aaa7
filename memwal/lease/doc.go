// Package lease is the writer lease of a branch (DESIGN.md section 3, "One
// writer per branch" and "Lease and takeover"): one object
//
//	<db>/_lakesql_wal/<branch-id>/LEASE
//
// whose holder is the branch's only writer while the lease has not expired.
// The caller passes the full object name. The object is JSON:
//
//	{"version":1,
//	 "holder":{"host":"db-7","pid":4242,"boot_id":"…","pid_ns":"pid:[…]",
//	           "start":"…","start_ticks":123456,"id":"<random>"},
//	 "epoch":5,
//	 "expiry":"2026-03-01T10:00:10.5Z"}
//
// The holder names the process (host name, pid, boot id, pid namespace,
// start time, and a random id drawn per Acquire, so two acquirers in one
// process are different holders). The epoch increases strictly over the
// life of the object: every new holder takes max(old epoch, MinEpoch)+1,
// where MinEpoch is the highest epoch already claimed in the branch's commit
// log. Renewals and Release keep it. The expiry is a time on the store's
// clock (below); the zero time ("0001-01-01T00:00:00Z") means released.
//
// # Acquire
//
// Acquire reads the object and decides (decide, a pure function):
//
//	read LEASE ──┬─ missing ───────────────────────────► create, IfAbsent
//	             │                                       epoch MinEpoch+1
//	             ├─ released, or expired (+slack) ─────► take over, IfMatch(etag)
//	             ├─ same host, boot id and pid             epoch max(old,Min)+1
//	             │  namespace, holder pid gone ────────►  (same)
//	             └─ live holder ──► *HeldError (ErrHeld) naming host and pid;
//	                                with Wait: sleep until its expiry, read again
//
//	a put refused (ErrPreconditionFailed) ► someone else won: read again, decide
//	again (the winner is now a live holder, so: ErrHeld)
//	a put failing otherwise ► read back: our holder id and epoch there ► ours;
//	else the error
//
// A holder pid is "gone" when kill(pid, 0) says ESRCH, when /proc/<pid> is a
// zombie, or when its start time (in clock ticks after boot) differs from the
// one in the lease (the pid was reused). A holder on another host, another
// boot, another pid namespace, or whose boot id is unknown, is never judged
// by its pid: only the expiry frees its lease.
//
// # Held, renewal and loss
//
// A Held owns one goroutine that renews the lease by compare-and-swap every
// RenewEvery (default Duration/3), writing a new expiry and keeping the epoch:
//
//	          renew ok (new etag, expiry now+Duration)
//	           ┌──────┐
//	           ▼      │
//	Acquire ► HELD ───┘── CAS refused, object names another holder ► LOST
//	           │  └────── not renewed by expiry-slack (errors, stall) ► LOST
//	           └── Release: CAS to expiry zero, same epoch ────────► RELEASED
//
// A CAS refused because an earlier renewal landed unseen (a lost response)
// is recognised by our holder id and epoch in the object, and adopted. Once
// lost, Lost() is closed and Err() is a *LostError (ErrLost) saying why; the
// writer must stop acknowledging anything. Release closes Lost() too, with
// Err() == ErrReleased, and does not touch a lost lease. Check reports the
// same without waiting for the goroutine: a writer may call it before
// acknowledging. The lease gives liveness; safety against a zombie writer is
// the WAL fence that the new holder writes before serving (memwal/wal), for
// every epoch from the newest claimed one up to Previous().Epoch.
//
// # Clocks
//
// Expiry is decided on the store's clock, estimated cheaply: every Put
// returns the store's stamp of the write (Info.LastModified: the S3
// Last-Modified or Date header, the file's mtime, the mem store's clock), so
// after each of its own writes a process sets skew = stamp - local midpoint
// of the call and reads the store's time as local now + skew. Reading an
// object also proves the store's clock is at least at its LastModified, which
// can only move the estimate forward. A process that has written nothing yet
// (an acquirer's first look) uses its local clock.
//
// S3 stamps whole seconds, so both sides keep a slack (default 1 s, or
// Duration/5 if smaller): the holder counts its lease lost at expiry-slack,
// an acquirer counts it expired only after expiry+slack. A clock far off
// that can cause at worst an early takeover, which the WAL fence makes safe.
//
// The local clock is Options.Clock (Now and After), so tests drive renewal,
// expiry and waiting with a fake clock. Process start times use USER_HZ = 100
// ticks per second, as Linux reports them to user space on every
// mainstream architecture; the exact comparison is on the tick count.
package lease
