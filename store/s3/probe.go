package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// probeDir holds the probe objects, under the store's prefix. Its name is
// not a valid object name, so List never shows a left-over probe.
const probeDir = ".lakesql-probe"

// wrongETag is an ETag no object has, for the If-Match probe.
const wrongETag = `"00000000000000000000000000000000"`

// probe checks that the store is usable: the bucket exists and the
// credentials reach it (HeadBucket), and the server honours conditional
// writes. It writes a probe object with If-None-Match: *, writes it again
// with If-None-Match: * (which must be refused with 412), replaces it with
// If-Match of a wrong ETag (which must be refused too), and deletes it. Each
// step has a short deadline and few attempts, so that an unreachable server
// fails fast.
func (s *Store) probe(ctx context.Context) error {
	if err := s.probeCredentials(ctx); err != nil {
		return err
	}
	hctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := s.client.HeadBucket(hctx, &s3.HeadBucketInput{Bucket: &s.bucket}, func(o *s3.Options) {
		o.Retryer = newRetryer(probeAttempts, probeTimeout/20)
	})
	if err != nil {
		if ctx.Err() != nil {
			return s.redact(fmt.Errorf("s3: opening %s: %w", s, err))
		}
		switch {
		case isNotFound(err) || apiCode(err) == "NoSuchBucket":
			return &kindError{kind: ErrBucketNotExist, cause: err,
				msg: fmt.Sprintf("s3: bucket %q does not exist (server %s)", s.bucket, s.server)}
		case httpStatus(err) == 403:
			return &kindError{kind: ErrAccessDenied, cause: err,
				msg: fmt.Sprintf("s3: access denied to bucket %q: check the credentials (server %s)", s.bucket, s.server)}
		}
		return s.serverError(fmt.Sprintf("checking bucket %q", s.bucket), err)
	}

	var rnd [12]byte
	rand.Read(rnd[:])
	key := path.Join(s.prefix, probeDir, hex.EncodeToString(rnd[:]))
	body := []byte("lakesql conditional write probe\n")
	put := func(ifNoneMatch, ifMatch string) error {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		in := &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, ContentLength: aws.Int64(int64(len(body)))}
		if ifNoneMatch != "" {
			in.IfNoneMatch = &ifNoneMatch
		}
		if ifMatch != "" {
			in.IfMatch = &ifMatch
		}
		var err error
		for i := range s.maxAttempts {
			if i > 0 {
				if err := sleep(pctx, backoff(i)); err != nil {
					return err
				}
			}
			in.Body = bytes.NewReader(body)
			if _, err = s.client.PutObject(pctx, in, noRetry); !isConflict(err) {
				break
			}
		}
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
		defer cancel()
		if _, err := s.client.DeleteObject(dctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
			s.log.Debug("s3: deleting the probe object failed", "store", s.String(), "key", key, "error", s.redact(err).Error())
		}
	}()

	if err := put("*", ""); err != nil {
		if isNotImplemented(err) {
			return s.unsupported("If-None-Match", "put-if-absent", err)
		}
		return s.serverError(fmt.Sprintf("writing a probe object to bucket %q", s.bucket), err)
	}
	steps := []struct{ ifNoneMatch, ifMatch, header, need string }{
		{"*", "", "If-None-Match", "put-if-absent"},
		{"", wrongETag, "If-Match", "compare-and-swap"},
	}
	for _, st := range steps {
		err := put(st.ifNoneMatch, st.ifMatch)
		switch {
		case err == nil || isNotImplemented(err):
			return s.unsupported(st.header, st.need, err)
		case !isPreconditionFailed(err):
			return s.serverError(fmt.Sprintf("probing %s in bucket %q", st.header, s.bucket), err)
		}
	}
	return nil
}

// probeCredentials fails early, with a clear message, when no credentials
// can be found.
func (s *Store) probeCredentials(ctx context.Context) error {
	creds := s.client.Options().Credentials
	if creds == nil {
		return fmt.Errorf("s3: opening %s: no AWS credentials configured", s)
	}
	cctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, err := creds.Retrieve(cctx); err != nil {
		return s.redact(fmt.Errorf("s3: opening %s: no usable AWS credentials (set access_key_id and secret_access_key, "+
			"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile): %w", s, err))
	}
	return nil
}

// unsupported is the error for a server that ignored (or does not know) a
// conditional write header.
func (s *Store) unsupported(header, need string, cause error) error {
	return &kindError{kind: ErrConditionalWritesUnsupported, cause: cause,
		msg: fmt.Sprintf("s3: the server at %s ignores conditional writes (%s); lakesql needs %s", s.server, header, need)}
}

// serverError describes a failed probe request: unreachable server, denied
// access, or another failure.
func (s *Store) serverError(what string, err error) error {
	switch {
	case isNoResponse(err):
		return s.redact(&kindError{kind: ErrUnreachable, cause: err,
			msg: fmt.Sprintf("s3: cannot reach the server at %s (%s): %v", s.server, what, err)})
	case httpStatus(err) == 403:
		return s.redact(&kindError{kind: ErrAccessDenied, cause: err,
			msg: fmt.Sprintf("s3: access denied %s at %s: check the credentials and the bucket policy; lakesql needs to read and write", what, s.server)})
	}
	return s.redact(fmt.Errorf("s3: %s at %s: %w", what, s.server, err))
}
