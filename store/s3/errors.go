package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Errors New and OpenURI return (wrapped) when they cannot open a store.
var (
	// ErrConditionalWritesUnsupported: the server accepted a write whose
	// If-None-Match or If-Match condition did not hold. lakesql's commit
	// protocol cannot run on such a server.
	ErrConditionalWritesUnsupported = errors.New("s3: the server ignores conditional writes")
	// ErrBucketNotExist: the bucket does not exist.
	ErrBucketNotExist = errors.New("s3: bucket does not exist")
	// ErrAccessDenied: the server refused the credentials, or they lack a
	// permission lakesql needs.
	ErrAccessDenied = errors.New("s3: access denied")
	// ErrUnreachable: no answer came from the server (connection refused,
	// unknown host, timeout).
	ErrUnreachable = errors.New("s3: server unreachable")
)

// kindError is an error with its own message that matches a kind (one of the
// Err variables above) and wraps its cause.
type kindError struct {
	msg   string
	kind  error
	cause error
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Unwrap() error        { return e.cause }
func (e *kindError) Is(target error) bool { return target == e.kind }

// redactedError replaces an error's message by one without secrets.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact makes sure err's message holds none of the store's secrets. The SDK
// never puts them in errors; this is a second line of defence.
func (s *Store) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, sec := range s.secrets {
		if strings.Contains(msg, sec) {
			msg = strings.ReplaceAll(msg, sec, "REDACTED")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// fail wraps err with the store, the operation and the object name.
func (s *Store) fail(op, name string, err error) error {
	return s.redact(fmt.Errorf("%s: %s %q: %w", s, op, name, err))
}

// httpStatus is the HTTP status of the response err came with, or 0 when no
// response came.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// apiCode is the S3 error code of err ("NoSuchKey"), or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNotFound: the key does not exist. (A HEAD answer has no body, so a
// missing bucket looks the same there; New has checked the bucket.)
func isNotFound(err error) bool {
	switch apiCode(err) {
	case "NoSuchKey", "NotFound":
		return true
	case "NoSuchBucket", "NoSuchUpload":
		return false
	}
	return httpStatus(err) == 404
}

// isPreconditionFailed: the server refused a condition (412).
func isPreconditionFailed(err error) bool {
	return httpStatus(err) == 412 || apiCode(err) == "PreconditionFailed"
}

// isNoSuchUpload: the multipart upload is gone (completed or aborted).
func isNoSuchUpload(err error) bool { return apiCode(err) == "NoSuchUpload" }

// isConflict: a concurrent conditional write held the key (409
// ConditionalRequestConflict); the request did not take effect and may be
// retried.
func isConflict(err error) bool { return httpStatus(err) == 409 }

// isNotImplemented: the server does not know a header or operation.
func isNotImplemented(err error) bool {
	return httpStatus(err) == 501 || apiCode(err) == "NotImplemented"
}

// isThrottled: the server asks to slow down (429); the request did not
// take effect.
func isThrottled(err error) bool { return httpStatus(err) == 429 }

// isAmbiguous tells whether a failed request may nevertheless have taken
// effect: it was sent and no definite answer came back (a network error, a
// timeout) or the server failed (5xx, or one of S3's errors inside a 200
// answer to CompleteMultipartUpload).
func isAmbiguous(err error) bool {
	switch apiCode(err) {
	case "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout":
		return true
	}
	if st := httpStatus(err); st != 0 {
		return st >= 500
	}
	var se *smithyhttp.RequestSendError
	if errors.As(err, &se) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// isNoResponse: the request got no HTTP answer at all.
func isNoResponse(err error) bool {
	if httpStatus(err) != 0 {
		return false
	}
	var se *smithyhttp.RequestSendError
	var ne net.Error
	return errors.As(err, &se) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}
