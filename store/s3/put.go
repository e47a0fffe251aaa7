package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lakesql/lakesql/store"
)

// Backoff of the conditional-write retry loop: full jitter over an
// exponentially growing window.
const (
	backoffBase = 100 * time.Millisecond
	backoffMax  = 3 * time.Second
	// abortTimeout bounds the clean-up of a failed multipart upload, which
	// runs even when the Put's context is cancelled.
	abortTimeout = 30 * time.Second
)

// noRetry turns the SDK's retries off for one request: conditional writes
// retry in writeLoop, which can tell a lost race from a lost response.
func noRetry(o *s3.Options) { o.Retryer = aws.NopRetryer{} }

// Put stores the content of r under name. Up to the multipart threshold the
// body is buffered and sent with one PutObject; a longer body goes up in a
// multipart upload of PartSize parts. IfAbsent becomes If-None-Match: * and
// IfMatch becomes If-Match, on the PutObject or on the
// CompleteMultipartUpload. See the package documentation for how an
// ambiguous conditional write is resolved.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, opts ...store.PutOption) (store.Info, error) {
	cond, err := store.ApplyPutOptions(opts)
	if err != nil {
		return store.Info{}, s.fail("put", name, err)
	}
	if err := store.ValidateName(name); err != nil {
		return store.Info{}, err
	}
	if err := s.checkOpen("put", name); err != nil {
		return store.Info{}, err
	}
	h := sha256.New()
	body := io.TeeReader(r, h)
	var head bytes.Buffer
	if l, ok := r.(interface{ Len() int }); ok { // bytes.Reader and the like
		// ReadFrom wants MinRead bytes of room to see the end.
		head.Grow(int(min(int64(l.Len()), s.threshold+1)) + bytes.MinRead)
	}
	n, err := io.CopyN(&head, body, s.threshold+1)
	if err != nil && err != io.EOF {
		return store.Info{}, s.fail("put", name, fmt.Errorf("reading the content: %w", err))
	}
	if n <= s.threshold {
		return s.putSingle(ctx, name, cond, head.Bytes(), sum(h))
	}
	return s.putMultipart(ctx, name, cond, io.MultiReader(&head, body), h)
}

func sum(h hash.Hash) (out [sha256.Size]byte) {
	h.Sum(out[:0])
	return out
}

// putSingle stores data with one PutObject.
func (s *Store) putSingle(ctx context.Context, name string, cond store.PutOptions, data []byte, digest [sha256.Size]byte) (store.Info, error) {
	attempt := func(ctx context.Context, optFns ...func(*s3.Options)) (store.Info, error) {
		in := &s3.PutObjectInput{
			Bucket:        &s.bucket,
			Key:           aws.String(s.key(name)),
			Body:          bytes.NewReader(data),
			ContentLength: aws.Int64(int64(len(data))),
		}
		setConditions(cond, &in.IfNoneMatch, &in.IfMatch)
		out, err := s.client.PutObject(ctx, in, optFns...)
		if err != nil {
			return store.Info{}, err
		}
		return store.Info{
			Name:         name,
			Size:         int64(len(data)),
			ETag:         aws.ToString(out.ETag),
			LastModified: writeTime(out.ResultMetadata),
		}, nil
	}
	if !cond.IfAbsent && cond.IfMatch == "" {
		// Unconditional: rewriting the same bytes is harmless, so the
		// SDK's retries will do.
		info, err := attempt(ctx)
		if err != nil {
			return store.Info{}, s.fail("put", name, err)
		}
		return info, nil
	}
	return s.writeLoop(ctx, name, cond, false, digest, int64(len(data)), func(ctx context.Context) (store.Info, error) {
		return attempt(ctx, noRetry)
	})
}

// setConditions sets the If-None-Match and If-Match fields of a request.
func setConditions(cond store.PutOptions, ifNoneMatch, ifMatch **string) {
	if cond.IfAbsent {
		*ifNoneMatch = aws.String("*")
	}
	if cond.IfMatch != "" {
		*ifMatch = aws.String(cond.IfMatch)
	}
}

// writeTime is when the server says it took a write: the Last-Modified or
// Date header of its answer.
func writeTime(md middleware.Metadata) time.Time {
	if resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok {
		for _, h := range []string{"Last-Modified", "Date"} {
			if t, err := http.ParseTime(resp.Header.Get(h)); err == nil {
				return t.UTC()
			}
		}
	}
	return time.Now().UTC().Truncate(time.Second)
}

// writeLoop runs attempt, a write that the SDK does not retry, until it
// succeeds, fails for good or runs out of attempts. It keeps track of
// whether an earlier attempt may have taken effect unseen (ambiguous); when
// a later attempt is then refused, it reads the object back and compares its
// SHA-256 with digest to tell whether it is ours:
//
//	refused (412; 404 for IfMatch; NoSuchUpload for a multipart upload)
//	  earlier attempt ambiguous? no  -> ErrPreconditionFailed (a clean loss)
//	                             yes -> read back: same SHA-256 -> success
//	                                               otherwise    -> ErrPreconditionFailed
//	network error, timeout, 5xx      -> ambiguous, back off and retry
//	409 conflict, 429 slow down      -> back off and retry
//	anything else, attempts used up  -> error
//
// multipart says attempt completes a multipart upload: its retry after a
// success finds the upload gone (NoSuchUpload) rather than a 412.
func (s *Store) writeLoop(ctx context.Context, name string, cond store.PutOptions, multipart bool,
	digest [sha256.Size]byte, size int64, attempt func(context.Context) (store.Info, error)) (store.Info, error) {
	conditional := cond.IfAbsent || cond.IfMatch != ""
	ambiguous := false
	var last error
	for i := range s.maxAttempts {
		if i > 0 {
			if err := sleep(ctx, backoff(i)); err != nil {
				return store.Info{}, s.fail("put", name, fmt.Errorf("%w (after %v)", err, last))
			}
		}
		info, err := attempt(ctx)
		if err == nil {
			return info, nil
		}
		last = err
		if ctx.Err() != nil {
			return store.Info{}, s.fail("put", name, err)
		}
		refused := (conditional && isPreconditionFailed(err)) ||
			(cond.IfMatch != "" && isNotFound(err)) ||
			(multipart && ambiguous && isNoSuchUpload(err))
		if refused {
			if !ambiguous {
				if conditional {
					return store.Info{}, store.PreconditionFailed(s, name, condWhy(cond))
				}
				return store.Info{}, s.fail("put", name, err)
			}
			return s.resolve(ctx, name, cond, digest, size, err)
		}
		switch {
		case isConflict(err), isThrottled(err):
		case isAmbiguous(err):
			ambiguous = true
		default:
			return store.Info{}, s.fail("put", name, err)
		}
		s.log.Debug("s3: retrying a write", "store", s.String(), "name", name,
			"attempt", i+1, "ambiguous", ambiguous, "error", s.redact(err).Error())
	}
	return store.Info{}, s.fail("put", name, fmt.Errorf("giving up after %d attempts: %w", s.maxAttempts, last))
}

// resolve decides an ambiguous write that a later attempt found refused: the
// object is ours when its content has the SHA-256 of what we sent.
func (s *Store) resolve(ctx context.Context, name string, cond store.PutOptions, digest [sha256.Size]byte, size int64, refusal error) (store.Info, error) {
	info, ours, err := s.readBack(ctx, name, digest, size)
	if err != nil {
		return store.Info{}, s.fail("put", name, fmt.Errorf("reading back after an ambiguous write: %w", err))
	}
	s.log.Debug("s3: resolved an ambiguous write by reading back", "store", s.String(), "name", name, "ours", ours)
	if ours {
		return info, nil
	}
	if cond.IfAbsent || cond.IfMatch != "" {
		return store.Info{}, store.PreconditionFailed(s, name,
			condWhy(cond)+"; an earlier attempt was ambiguous and the object now there is not ours")
	}
	return store.Info{}, s.fail("put", name, fmt.Errorf("the upload was lost: %w", refusal))
}

// readBack reads the whole object and tells whether it is size bytes with
// the SHA-256 digest. A missing object is not ours.
func (s *Store) readBack(ctx context.Context, name string, digest [sha256.Size]byte, size int64) (store.Info, bool, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(name))})
	if err != nil {
		if isNotFound(err) {
			return store.Info{}, false, nil
		}
		return store.Info{}, false, err
	}
	defer out.Body.Close()
	info := store.Info{
		Name:         name,
		Size:         aws.ToInt64(out.ContentLength),
		ETag:         aws.ToString(out.ETag),
		LastModified: aws.ToTime(out.LastModified),
	}
	if info.Size != size {
		return info, false, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, out.Body); err != nil {
		return info, false, err
	}
	return info, sum(h) == digest, nil
}

// sameETag compares ETags, quoted or not.
func sameETag(a, b string) bool {
	return strings.Trim(a, `"`) == strings.Trim(b, `"`)
}

func condWhy(cond store.PutOptions) string {
	if cond.IfAbsent {
		return "the object exists (IfAbsent)"
	}
	return "the object is missing or its ETag is not " + cond.IfMatch + " (IfMatch)"
}

// backoff is the pause before the attempt-th retry: full jitter.
func backoff(attempt int) time.Duration {
	window := min(backoffBase<<min(attempt-1, 10), backoffMax)
	return time.Duration(rand.Int64N(int64(window))) + time.Millisecond
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// putMultipart uploads src in parts and completes the upload on the Put's
// condition. Any failure aborts the upload, even after ctx is cancelled. h
// hashes src as it is read.
func (s *Store) putMultipart(ctx context.Context, name string, cond store.PutOptions, src io.Reader, h hash.Hash) (info store.Info, err error) {
	key := s.key(name)
	// Fail fast, before uploading much: the condition is checked again,
	// atomically, by CompleteMultipartUpload.
	if cond.IfAbsent || cond.IfMatch != "" {
		cur, err := s.Stat(ctx, name)
		switch {
		case err == nil && cond.IfAbsent, err == nil && !sameETag(cur.ETag, cond.IfMatch),
			errors.Is(err, store.ErrNotExist) && cond.IfMatch != "":
			return store.Info{}, store.PreconditionFailed(s, name, condWhy(cond))
		case err != nil && !errors.Is(err, store.ErrNotExist):
			return store.Info{}, err
		}
	}
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return store.Info{}, s.fail("put", name, fmt.Errorf("creating a multipart upload: %w", err))
	}
	uploadID := created.UploadId
	defer func() {
		if err == nil {
			return
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		_, aerr := s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: uploadID})
		if aerr != nil && !isNoSuchUpload(aerr) {
			s.log.Debug("s3: aborting a multipart upload failed", "store", s.String(), "name", name, "error", s.redact(aerr).Error())
		}
	}()
	parts, size, err := s.uploadParts(ctx, key, uploadID, src)
	if err != nil {
		return store.Info{}, s.fail("put", name, err)
	}
	digest := sum(h)
	return s.writeLoop(ctx, name, cond, true, digest, size, func(ctx context.Context) (store.Info, error) {
		in := &s3.CompleteMultipartUploadInput{
			Bucket:          &s.bucket,
			Key:             &key,
			UploadId:        uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		}
		setConditions(cond, &in.IfNoneMatch, &in.IfMatch)
		out, err := s.client.CompleteMultipartUpload(ctx, in, noRetry)
		if err != nil {
			return store.Info{}, err
		}
		return store.Info{Name: name, Size: size, ETag: aws.ToString(out.ETag), LastModified: writeTime(out.ResultMetadata)}, nil
	})
}

// uploadParts reads src in parts of s.partSize and uploads up to
// partConcurrency of them at once. It returns the parts in order and the
// total size.
func (s *Store) uploadParts(ctx context.Context, key string, uploadID *string, src io.Reader) ([]types.CompletedPart, int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// free holds the part buffers: nil until first used, so a short
	// upload allocates only what it needs.
	free := make(chan []byte, partConcurrency)
	for range partConcurrency {
		free <- nil
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		parts []types.CompletedPart
		total int64
		rerr  error
	)
	for num := int32(1); ; num++ {
		var buf []byte
		select {
		case buf = <-free:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if buf == nil {
			buf = make([]byte, s.partSize)
		}
		n, err := io.ReadFull(src, buf)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			rerr = fmt.Errorf("reading the content: %w", err)
			break
		}
		if n == 0 {
			break
		}
		if num > maxParts {
			rerr = fmt.Errorf("content longer than %d parts of %d bytes: raise the part size", maxParts, s.partSize)
			break
		}
		total += int64(n)
		wg.Add(1)
		go func(num int32, data, buf []byte) {
			defer wg.Done()
			defer func() { free <- buf }()
			out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket:        &s.bucket,
				Key:           &key,
				UploadId:      uploadID,
				PartNumber:    aws.Int32(num),
				Body:          bytes.NewReader(data),
				ContentLength: aws.Int64(int64(len(data))),
			})
			if err != nil {
				cancel(fmt.Errorf("uploading part %d: %w", num, err))
				return
			}
			mu.Lock()
			parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
			mu.Unlock()
		}(num, buf[:n], buf)
		if err != nil { // the last, short part
			break
		}
	}
	if rerr != nil {
		cancel(rerr)
	}
	wg.Wait()
	if rerr != nil {
		return nil, 0, rerr
	}
	if err := context.Cause(ctx); err != nil {
		return nil, 0, err
	}
	slices.SortFunc(parts, func(a, b types.CompletedPart) int {
		return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber))
	})
	return parts, total, nil
}
