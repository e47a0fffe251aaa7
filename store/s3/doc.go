// Package s3 is the store.Store backend for Amazon S3 and S3-compatible
// servers (MinIO and others that implement conditional writes).
//
// A store is a bucket and an optional prefix: object name n is kept at key
// prefix + "/" + n. Open it with New or, from a URI, with OpenURI:
//
//	s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true
//
// # Opening: the probe
//
// lakesql's commit log and writer lease rely on put-if-absent
// (If-None-Match: *) and compare-and-swap (If-Match). A server that silently
// ignores these headers would corrupt tables, so New checks before anything
// else: HeadBucket (a missing bucket, refused credentials and an unreachable
// server each give a clear error, within seconds), then a probe object under
// prefix/.lakesql-probe/ is written with If-None-Match: *, written again the
// same way (must be refused with 412), overwritten with If-Match of a wrong
// ETag (must be refused too) and deleted. A server that accepts either
// refused write gives ErrConditionalWritesUnsupported.
//
// A store opened with Config.ReadOnly (an external container of data files
// that lakesql only reads) skips all of this and sends no request when it
// opens: a user allowed to read objects may lack HeadBucket, and the probe
// writes. Its Put and Delete fail; a refused read matches ErrAccessDenied.
// Config.Anonymous sends unsigned requests, for public buckets.
//
// # Reads
//
// Open sends one GetObject for the first 64 KiB: its answer gives the size
// and ETag, and its bytes are kept, so a small object (a log entry, a lease)
// costs one request and the open object is a snapshot of it. Each ReadAt
// beyond those bytes is one ranged GetObject (Range: bytes=a-b) carrying
// If-Match of the opened ETag, so a replaced object gives store.ErrChanged,
// never a mix of two versions; an object is never downloaded whole for a
// ranged read. List pages through ListObjectsV2 and skips keys that are not object
// names. OpenExpect (store.CheckedOpener) puts If-Match of the recorded ETag
// on the first GET too, and compares the size it learns with the recorded
// one. ETags are kept exactly as the server sends them (quoted), and times
// are whole seconds, as S3's HeadObject gives them.
//
// # Writes
//
// Put buffers up to MultipartThreshold bytes (16 MiB by default). A body that
// ends there goes up in one PutObject; a longer one in a multipart upload of
// PartSize parts (8 MiB by default, four in flight), aborted on any failure,
// cancellation included. Its condition is then checked by
// CompleteMultipartUpload. Put computes the SHA-256 of the body as it reads
// it.
//
// Unconditional requests use the SDK's retries. Conditional writes cannot:
// when the response of a write that succeeded is lost, the SDK's retry finds
// the object it just wrote and is refused with 412, and the caller would
// think it lost a race it won. So a conditional write is sent without SDK
// retries, in a loop of its own (exponential backoff with full jitter,
// MaxAttempts attempts) that remembers whether an earlier attempt was
// ambiguous, that is, may have taken effect without us seeing the answer:
//
//	attempt (no SDK retries)
//	 |
//	 +- 2xx ................................ success
//	 +- network error, timeout, 5xx ........ ambiguous = true; back off, retry
//	 +- 409 conflict, 429 slow down ........ back off, retry
//	 +- 412 (IfMatch: also 404; multipart complete: NoSuchUpload)
//	 |    +- no earlier attempt ambiguous .. ErrPreconditionFailed
//	 |    +- an earlier one was ambiguous .. GET the object, hash it:
//	 |         same SHA-256 as our body .... success, with its Info
//	 |         different, or missing ....... ErrPreconditionFailed
//	 +- any other error .................... fail
//	 +- attempts used up ................... fail (not a precondition failure)
//
// A 412 on the first attempt is therefore a definite loss, and a caller that
// sees store.ErrPreconditionFailed has truly lost. (A body byte-for-byte
// identical to the winner's counts as ours; callers that race put unique
// content, such as a writer id, in their bodies.)
//
// Secrets (the secret access key and session token) never appear in String,
// in errors or in log lines. Retries are logged with slog at debug level.
package s3
