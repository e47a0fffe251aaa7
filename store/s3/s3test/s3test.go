// Package s3test gives tests of other packages a fresh S3 store on the test
// server that scripts/test.sh starts (LAKESQL_TEST_S3_ENDPOINT with the AWS
// credential variables). Without an endpoint the test fails, unless
// LAKESQL_TEST_S3=skip asks to skip S3 tests.
package s3test

import (
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

// NewStore creates a fresh bucket on the test server and opens a store on
// it. It returns the store and a URI that opens the same store (for child
// processes). The bucket is emptied and removed when the test ends.
func NewStore(t testing.TB) (*s3.Store, string) {
	t.Helper()
	ep := Endpoint(t)
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	c := awss3.New(awss3.Options{
		Region: region, BaseEndpoint: aws.String(ep), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(
			os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	var b [6]byte
	rand.Read(b[:])
	bucket := "lakesql-test-" + hex.EncodeToString(b[:])
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
