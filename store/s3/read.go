package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakesql/lakesql/store"
)

// Stat describes the named object with a HeadObject request.
func (s *Store) Stat(ctx context.Context, name string) (store.Info, error) {
	if err := store.ValidateName(name); err != nil {
		return store.Info{}, err
	}
	if err := s.checkOpen("stat", name); err != nil {
		return store.Info{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(name))})
	if err != nil {
		if isNotFound(err) {
			return store.Info{}, store.NotExist(s, name)
		}
		return store.Info{}, s.readFail("stat", name, err)
	}
	return store.Info{
		Name:         name,
		Size:         aws.ToInt64(out.ContentLength),
		ETag:         aws.ToString(out.ETag),
		LastModified: aws.ToTime(out.LastModified),
	}, nil
}

// Delete removes the named object. A missing object is not an error.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := store.ValidateName(name); err != nil {
		return err
	}
	if err := s.checkOpen("delete", name); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(name))})
	if err != nil && !isNotFound(err) {
		return s.fail("delete", name, err)
	}
	return nil
}

// List yields the objects whose names begin with prefix and sort after
// startAfter, in lexical byte order (S3's key order), with ListObjectsV2
// pages of up to 1000 keys. Keys under the store's prefix that are not valid
// object names (such as a left-over probe object) are skipped.
func (s *Store) List(ctx context.Context, prefix, startAfter string) iter.Seq2[store.Info, error] {
	return func(yield func(store.Info, error) bool) {
		if err := store.ValidatePrefix(prefix); err != nil {
			yield(store.Info{}, err)
			return
		}
		if err := s.checkOpen("list", prefix); err != nil {
			yield(store.Info{}, err)
			return
		}
		root := s.keyPrefix()
		in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(root + prefix)}
		if startAfter != "" {
			in.StartAfter = aws.String(root + startAfter)
		}
		pages := s3.NewListObjectsV2Paginator(s.client, in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				yield(store.Info{}, s.readFail("list", prefix, err))
				return
			}
			for _, obj := range page.Contents {
				name, ok := strings.CutPrefix(aws.ToString(obj.Key), root)
				if !ok || store.ValidateName(name) != nil {
					continue
				}
				// LastModified in whole seconds, as HeadObject gives it.
				info := store.Info{
					Name:         name,
					Size:         aws.ToInt64(obj.Size),
					ETag:         aws.ToString(obj.ETag),
					LastModified: aws.ToTime(obj.LastModified).Truncate(time.Second),
				}
				if !yield(info, nil) {
					return
				}
			}
		}
	}
}

// headSize is how much of an object Open reads with its first request.
const headSize = 64 << 10

// Open opens the named object for ranged reads. One ranged GET of its first
// 64 KiB learns the size and ETag and keeps those bytes, so a small object
// is read in one request and is a true snapshot. Reads beyond them are
// ranged GETs on the condition that the ETag is still the same (If-Match),
// so a replaced object gives an error (store.ErrChanged) rather than a mix
// of old and new bytes. ReadAt uses ctx: cancelling it ends the object's
// reads.
func (s *Store) Open(ctx context.Context, name string) (store.Object, error) {
	return s.open(ctx, name, nil)
}

// OpenExpect implements store.CheckedOpener. It opens like Open, but the first
// GET carries If-Match: exp.ETag when exp has an ETag, and the size it learns
// is compared with exp.Size: a refused condition or another size gives
// store.ErrChanged. The modification time is compared (to the millisecond)
// only when exp has no ETag: an ETag identifies the content, and the time
// that Put reports may be its answer's Date rather than the object's
// Last-Modified. Later reads carry If-Match on the ETag, as Open's do.
func (s *Store) OpenExpect(ctx context.Context, name string, exp store.Expect) (store.Object, error) {
	return s.open(ctx, name, &exp)
}

// open is Open, and OpenExpect when exp is not nil.
func (s *Store) open(ctx context.Context, name string, exp *store.Expect) (store.Object, error) {
	if err := store.ValidateName(name); err != nil {
		return nil, err
	}
	if err := s.checkOpen("open", name); err != nil {
		return nil, err
	}
	key := s.key(name)
	in := &s3.GetObjectInput{
		Bucket: &s.bucket,
		Key:    &key,
		Range:  aws.String("bytes=0-" + strconv.Itoa(headSize-1)),
	}
	if exp != nil && exp.ETag != "" {
		in.IfMatch = aws.String(exp.ETag)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		switch {
		case isNotFound(err):
			return nil, store.NotExist(s, name)
		case exp != nil && isPreconditionFailed(err):
			return nil, store.Changed(s, name, s.refusedWhy(ctx, name, exp.ETag))
		case httpStatus(err) == 416: // an empty object has no byte 0
			info, err := s.Stat(ctx, name)
			if err != nil {
				return nil, err
			}
			if err := s.check(name, exp, info); err != nil {
				return nil, err
			}
			return &object{s: s, ctx: ctx, key: key, info: info}, nil
		}
		return nil, s.readFail("open", name, err)
	}
	defer out.Body.Close()
	o := &object{s: s, ctx: ctx, key: key, info: store.Info{
		Name:         name,
		ETag:         aws.ToString(out.ETag),
		LastModified: aws.ToTime(out.LastModified),
	}}
	n := aws.ToInt64(out.ContentLength)
	o.info.Size = n // a server that ignored the range sent it all
	if cr := aws.ToString(out.ContentRange); cr != "" {
		_, total, ok := strings.Cut(cr, "/")
		if o.info.Size, err = strconv.ParseInt(total, 10, 64); !ok || err != nil {
			return nil, s.fail("open", name, fmt.Errorf("unexpected Content-Range %q", cr))
		}
	}
	if err := s.check(name, exp, o.info); err != nil {
		return nil, err
	}
	o.head = make([]byte, min(n, headSize))
	if _, err := io.ReadFull(out.Body, o.head); err != nil {
		return nil, s.fail("open", name, err)
	}
	return o, nil
}

// check compares what open found with exp (when not nil): the ETag (again,
// in case the server ignored If-Match), the size, and the modification time
// when exp has no ETag.
func (s *Store) check(name string, exp *store.Expect, found store.Info) error {
	if exp == nil {
		return nil
	}
	e := *exp
	if e.ETag != "" {
		e.LastModified = time.Time{}
		if found.ETag != "" && sameETag(e.ETag, found.ETag) {
			found.ETag = e.ETag // quoted or not, the same
		}
	}
	if why := e.Mismatch(found); why != "" {
		return store.Changed(s, name, why)
	}
	return nil
}

// refusedWhy says why If-Match: etag was refused, with the object's current
// ETag when a HeadObject can tell it.
func (s *Store) refusedWhy(ctx context.Context, name, etag string) string {
	info, err := s.Stat(ctx, name)
	if err != nil {
		return fmt.Sprintf("expected ETag %s, the server refused it (If-Match)", etag)
	}
	return fmt.Sprintf("expected ETag %s, found %s (size %d, modified %s)", etag, info.ETag, info.Size,
		info.LastModified.UTC().Format(time.RFC3339))
}

// readFail is fail for reads: a refused request (403) also matches
// ErrAccessDenied, as a store opened with ReadOnly meets a lacking
// permission only when it reads.
func (s *Store) readFail(op, name string, err error) error {
	wrapped := s.fail(op, name, err)
	if httpStatus(err) == 403 {
		return &kindError{msg: wrapped.Error(), kind: ErrAccessDenied, cause: wrapped}
	}
	return wrapped
}

// object is an open S3 object. Its state does not change after Open (but for
// closed), so concurrent ReadAt calls are independent requests.
type object struct {
	s      *Store
	ctx    context.Context
	key    string
	info   store.Info
	head   []byte // the object's first bytes
	closed atomic.Bool
}

var _ store.Object = (*object)(nil)

func (o *object) Size() int64      { return o.info.Size }
func (o *object) Info() store.Info { return o.info }

// Close ends the object's use; it holds no connection between reads.
func (o *object) Close() error {
	o.closed.Store(true)
	return nil
}

// ReadAt reads len(p) bytes at off from the head read by Open or with one
// ranged GET, following
// io.ReaderAt: fewer bytes than asked come with io.EOF at the end.
func (o *object) ReadAt(p []byte, off int64) (int, error) {
	name := o.info.Name
	switch {
	case o.closed.Load():
		return 0, o.s.fail("read", name, errClosed)
	case off < 0:
		return 0, o.s.fail("read", name, fmt.Errorf("negative offset %d", off))
	case len(p) == 0:
		return 0, nil
	case off >= o.info.Size:
		return 0, io.EOF
	}
	want := min(int64(len(p)), o.info.Size-off)
	if off+want <= int64(len(o.head)) {
		n := copy(p, o.head[off:off+want])
		if want < int64(len(p)) {
			return n, io.EOF
		}
		return n, nil
	}
	out, err := o.s.client.GetObject(o.ctx, &s3.GetObjectInput{
		Bucket:  &o.s.bucket,
		Key:     &o.key,
		Range:   aws.String("bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+want-1, 10)),
		IfMatch: aws.String(o.info.ETag),
	})
	if err != nil {
		switch {
		case isNotFound(err):
			return 0, fmt.Errorf("%w (deleted since it was opened)", store.NotExist(o.s, name))
		case isPreconditionFailed(err):
			return 0, store.Changed(o.s, name, fmt.Sprintf("replaced since it was opened: its ETag is no longer %s (If-Match refused)", o.info.ETag))
		}
		return 0, o.s.readFail("read", name, err)
	}
	defer out.Body.Close()
	if cr := aws.ToString(out.ContentRange); !strings.HasPrefix(cr, "bytes "+strconv.FormatInt(off, 10)+"-") {
		return 0, o.s.fail("read", name, fmt.Errorf("asked for bytes from %d, the server answered with range %q", off, cr))
	}
	n, err := io.ReadFull(out.Body, p[:want])
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return n, o.s.fail("read", name, fmt.Errorf("range at %d: %w", off, err))
	}
	if want < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}
