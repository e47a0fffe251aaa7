// Package wal frames, writes, fences, replays and collects the write-ahead
// log of a branch: records with length and CRC32C in immutable segments
// written put-if-absent.
//
// # Layout and format
//
//	<db>/_lakesql_wal/<branch-id>/<epoch>/<segment>.wal
//
// dir is <db>/_lakesql_wal/<branch-id>; <epoch> is the writer's lease epoch
// and <segment> the segment number within the epoch, from 1, both
// zero-padded to 20 digits so names sort by number. Other names in dir (the
// LEASE) are ignored.
//
// A record is one transaction, Record{Seq, Changes}; a Change puts a row,
// deletes a key or truncates a table (ChangeKind), naming the table id and
// the schema id it was written for. Keys and rows are opaque bytes. Sequence
// numbers increase strictly across the segments and the epochs of a branch.
//
//	segment = header frame* [zeros]
//	header  = "LQWL" version(1; 2 padded) kind(records|fence) flags 0 epoch:u64
//	          segment:u64 seq:u64 crc32c(previous 32 bytes):u32 (36 bytes, LE)
//	flags   = 1: padded (created with room for appends; zeros end the frames)
//	frame   = len:u32 crc32c(payload):u32 payload
//	payload = uvarint(seq) uvarint(count) change*
//	change  = kind:u8 uvarint(len) table-id varint(schema-id)
//	          [uvarint(len) key]   (put, delete)
//	          [uvarint(len) row]   (put)
//
// A records segment's header seq is its first record's seq; it holds at
// least one record. A fence is a header of kind fence with no frames; its
// seq is the last record seq before it (0: none in the epoch).
//
// # Writer and group commit
//
// A Writer owns one epoch. Append assigns the next seq under a mutex (so
// records are ordered by seq in call order) and queues the record; one
// flusher goroutine writes segments one at a time, in order: segment n+1 is
// put only once segment n is durable, so a failure never leaves a gap that
// replay could skip. Records that arrive while a put is in flight batch into
// the next segment (up to MaxSegmentBytes; MaxBatchDelay can hold a segment
// back to batch more). Append returns when its record's segment, and so
// every earlier one, is durable. Submit is Append split in two (queue
// under the caller's lock, wait outside it); SubmitBody takes a record a
// Builder encoded change by change before the lock was taken.
//
//	Append(a) Append(b) Append(c) Append(d) Append(e)
//	   |  seq 7   |  seq 8  |  seq 9  |  seq 10  |  seq 11
//	   v          v         v         v          v
//	queue: [7] -> put 0005.wal{7} ............ ack 7
//	       [8 9 10] queued meanwhile -> put 0006.wal{8,9,10} ... ack 8, 9, 10
//	       [11] ...................... -> put 0007.wal{11} ...... ack 11
//
// On a store that appends (store.Appender: a local disk), a segment is
// created with room for AppendSegmentBytes (zeros already written, so an
// append changes no file system metadata) and later batches are appended to
// it while they fit: a write and a data sync instead of a new object (0.2 ms
// instead of 0.7-2 ms on the project's machine). Such a segment is padded:
// its frames end where the zeros begin.
//
// There, a segment write is not left to the flusher goroutine alone.
// Whoever holds the writer's token writes: the flusher, or a caller waiting
// for its record (on a busy machine the flusher, woken by Submit, often
// gets a CPU only once the caller parks in its wait). And an append is
// split in two (store.Appendable's Write and Sync): when the token is free
// and the queued records fit the open segment, SubmitBody writes them at
// once and starts the device's write-back, and the wait (or the flusher)
// syncs them later, so that the device works while the caller applies the
// record to its MemTable. The shared lock that the fence's barrier waits
// for is held from the write's check to the end of its sync.
//
// The outcome of a segment put is decided like this:
//
//   - success: durable, acknowledge the batch;
//   - any error: read the name back. Our bytes: durable (the response was
//     lost, or the store's own retry found an earlier attempt). Other bytes:
//     a fence holds the name, the writer is fenced. No object: the put did
//     not land; retry with backoff (1 ms doubling to 100 ms).
//   - no answer after MaxAttempts: ErrWriterFailed.
//
// ErrFenced and ErrWriterFailed are terminal: the batch in flight, every
// queued record and every later Append fail with the same error, and the
// writer writes nothing more, so nothing not yet acknowledged is
// acknowledged later and no segment follows one whose fate is unknown.
//
// # What a failed Append means
//
// A record is acknowledged only by a nil error from Append. A caller whose
// Append failed must treat the transaction as not committed, and memwal
// reports the statement as failed. But after a lost response, a crash,
// ErrWriterFailed or a canceled ctx the record may still be in the log, and
// so be replayed by the next writer. Records are atomic (one frame with one
// checksum in one object written whole), so such a transaction is replayed
// entirely or not at all: no unacknowledged transaction is ever partly
// visible. A fenced writer's failed batch never is in the log: its name
// holds the fence.
//
// # Fencing and takeover
//
// Fence(epoch) lists the epoch, reads its highest segment and puts a fence
// at the next number. A listing can be stale: by the time the fence lands,
// the writer may have written that number and garbage collection deleted
// it, so the put-if-absent lands in a hole below the writer and stops
// nothing. Since collection keeps an epoch's highest segment, Fence checks
// that no segment above its fence exists; if one does, it deletes the stray
// fence (everything below it was collected) and fences again from a fresh
// listing. If the old writer wins that name first, the fence
// moves to the next number; if another fence holds it, that fence is the
// epoch's. Once the fence is at k, the old writer's put at k fails, so it
// can acknowledge nothing more, and Replay stops at k.
//
// Appends to segment k-1 do not meet the fence's put-if-absent. So an
// append looks for an object at k first, under the store's shared append
// lock, and writes nothing when it finds one (ErrFenced); Fence, once the
// fence is in place, waits at the store's append barrier of k-1 (the
// exclusive lock). An append either saw the fence and wrote nothing, or was
// durable before Fence returned and so before the taker's replay reads it:
// a fenced writer's refused batch is never in the log, as with puts. The
// fence's seq was read before the put, so segment k-1 may end with a few
// records after it (acknowledged before the fence landed): collection reads
// that segment's last record rather than trusting the fence's seq. As a
// second guard, memwal replays each epoch only up to the first sequence
// number of the next epoch that holds records (ReplayUpTo, FirstSeq).
//
//	old writer (epoch 4)            new lease holder (epoch 6)
//	put 0007 ok, ack                list epoch 4: highest 0007
//	put 0008 ok, ack  <-- race -->  put fence 0008: exists (a records segment)
//	put 0009 fails: exists          put fence 0009 ok   => FenceInfo{Segment 9,
//	=> ErrFenced, for it and every                           LastSeq of 0008}
//	   queued and later Append
//
// The takeover (DESIGN.md section 3) is memwal's; this package gives it
// Fence and Replay. The new holder of lease epoch e+1, before serving:
//
//	(a) for every epoch from the newest one claimed in the branch log up to
//	    the lease's previous one: Fence(epoch)
//	(b) P = the LastSeq of the newest fence with records (the position just
//	    before it)
//	(c) commit walPosition{epoch e+1, position P} to the branch log: the
//	    epoch claim, so any later commit of an older epoch fails
//	(d) for each of those epochs in order: Replay(epoch, persisted
//	    position, fn), each stopping at its fence; the new Writer starts
//	    with NextSeq = the last ReplayInfo.Position + 1
//
// # Replay
//
// Replay lists an epoch only to find its lowest and highest segment number
// and reads every number in between in order (a few ahead, concurrently),
// so a missing segment is detected, not skipped (unless garbage collection
// deleted it during the replay: then the lowest segment left is above it,
// and replay goes on from there). It stops at a fence or
// after the highest segment and passes the records above afterSeq to fn. A
// frame cut short at the end of the highest segment is a torn write (a store
// that wrote part of an object) and is dropped with a slog warning. In a
// padded segment that is the highest or just below a fence, a damaged frame
// followed by at most one batch's bytes and then only zeros is an append a
// crash cut short (a crash may persist any sectors of a write), dropped the
// same way; every other defect (a checksum, a header, a segment missing below the highest,
// seqs not increasing, records deleted above afterSeq) is a
// base.ErrCorruption naming the segment.
//
// # Garbage collection
//
// DeleteBefore(epoch, seq) deletes, in epoch and older ones, the segments
// whose records are all at or below seq (persisted in data files), lowest
// first, so the log stays contiguous. The highest segment of every epoch
// stays: in a live epoch it tells Fence where to fence, in an older one it
// is the fence that keeps a zombie writer out.
package wal
