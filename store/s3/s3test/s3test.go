// Package s3test gives tests of other packages a fresh S3 store on the test
// server that scripts/test.sh starts (LAKESQL_TEST_S3_ENDPOINT with the AWS
// credential variables), and a fresh bucket on its second server, with other
// credentials, that stands for an external container
// (LAKESQL_TEST_S3_EXT_ENDPOINT, LAKESQL_TEST_S3_EXT_ACCESS_KEY_ID and
// LAKESQL_TEST_S3_EXT_SECRET_ACCESS_KEY). Without an endpoint the test fails,
// unless LAKESQL_TEST_S3=skip asks to skip S3 tests.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakesql/lakesql/store/s3"
)

// Endpoint returns the test server's endpoint, failing (or skipping, with
// LAKESQL_TEST_S3=skip) the test when there is none.
func Endpoint(t testing.TB) string {
	t.Helper()
	ep := os.Getenv("LAKESQL_TEST_S3_ENDPOINT")
	if ep == "" {
		const how = "LAKESQL_TEST_S3_ENDPOINT is not set: run scripts/test.sh, which starts MinIO and sets it"
		if os.Getenv("LAKESQL_TEST_S3") == "skip" {
			t.Skip(how + " (skipped: LAKESQL_TEST_S3=skip)")
		}
		t.Fatal(how + "; LAKESQL_TEST_S3=skip skips the S3 tests")
	}
	return ep
}

// ExternalServer is a fresh bucket on the second test server, for tests of
// data files kept outside the database's store. Its credentials are not the
// first server's.
type ExternalServer struct {
	// Endpoint is the second server's base URL.
	Endpoint string
	// AccessKeyID and SecretAccessKey are the second server's credentials.
	AccessKeyID, SecretAccessKey string
	// Bucket is the bucket External created.
	Bucket string
}

// External creates a fresh bucket on the second test server, emptied and
// removed when the test ends. Without the LAKESQL_TEST_S3_EXT_* variables it
// fails the test (or skips it, with LAKESQL_TEST_S3=skip).
func External(t testing.TB) ExternalServer {
	t.Helper()
	e := ExternalServer{
		Endpoint:        os.Getenv("LAKESQL_TEST_S3_EXT_ENDPOINT"),
		AccessKeyID:     os.Getenv("LAKESQL_TEST_S3_EXT_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("LAKESQL_TEST_S3_EXT_SECRET_ACCESS_KEY"),
	}
	if e.Endpoint == "" || e.AccessKeyID == "" || e.SecretAccessKey == "" {
		const how = "LAKESQL_TEST_S3_EXT_ENDPOINT, LAKESQL_TEST_S3_EXT_ACCESS_KEY_ID and LAKESQL_TEST_S3_EXT_SECRET_ACCESS_KEY " +
			"are not all set: run scripts/test.sh, which starts a second MinIO server and sets them"
		if os.Getenv("LAKESQL_TEST_S3") == "skip" {
			t.Skip(how + " (skipped: LAKESQL_TEST_S3=skip)")
		}
		t.Fatal(how + "; LAKESQL_TEST_S3=skip skips the S3 tests")
	}
	c := e.client()
	e.Bucket = randomBucket()
	if _, err := c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: &e.Bucket}); err != nil {
		t.Fatalf("creating bucket %s on the external test server: %v", e.Bucket, err)
	}
	t.Cleanup(func() { removeBucket(c, e.Bucket) })
	return e
}

// Put writes data to key in the bucket, directly with the SDK (replacing
// any object there).
func (e ExternalServer) Put(t testing.TB, key string, data []byte) {
	t.Helper()
	_, err := e.client().PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: &e.Bucket, Key: &key, Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		t.Fatalf("writing %s to bucket %s on the external test server: %v", key, e.Bucket, err)
	}
}

// Delete removes key from the bucket, directly with the SDK.
func (e ExternalServer) Delete(t testing.TB, key string) {
	t.Helper()
	if _, err := e.client().DeleteObject(context.Background(), &awss3.DeleteObjectInput{Bucket: &e.Bucket, Key: &key}); err != nil {
		t.Fatalf("deleting %s from bucket %s on the external test server: %v", key, e.Bucket, err)
	}
}

// client is an SDK client for the second server with its credentials.
func (e ExternalServer) client() *awss3.Client {
	return newClient(e.Endpoint, e.AccessKeyID, e.SecretAccessKey, "")
}

// NewStore creates a fresh bucket on the test server and opens a store on
// it. It returns the store and a URI that opens the same store (for child
// processes). The bucket is emptied and removed when the test ends.
func NewStore(t testing.TB) (*s3.Store, string) {
	t.Helper()
	ep := Endpoint(t)
	c := newClient(ep, os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))
	bucket := randomBucket()
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("creating bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() { removeBucket(c, bucket) })
	uri := fmt.Sprintf("s3://%s?endpoint=%s&path_style=true", bucket, url.QueryEscape(ep))
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s3.OpenURI(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, uri
}

// Open opens a store by a URI from NewStore (in a child process).
func Open(uri string) (*s3.Store, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, err
	}
	return s3.OpenURI(context.Background(), u)
}

// newClient is a plain SDK client for a test server.
func newClient(endpoint, keyID, secret, token string) *awss3.Client {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	return awss3.New(awss3.Options{
		Region: region, BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(keyID, secret, token),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// randomBucket is a fresh test bucket name.
func randomBucket() string {
	var b [6]byte
	rand.Read(b[:])
	return "lakesql-test-" + hex.EncodeToString(b[:])
}

func removeBucket(c *awss3.Client, bucket string) {
	ctx := context.Background()
	pages := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: &bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return
		}
		for _, obj := range page.Contents {
			c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &bucket, Key: obj.Key})
		}
	}
	c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: &bucket})
}
