package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/storetest"
)

// TestMain lets storetest.RunProcessRace re-execute this test binary as
// racing child processes that open the store by URI.
func TestMain(m *testing.M) {
	storetest.Main(m, func(uri string) (store.Store, error) {
		u, err := url.Parse(uri)
		if err != nil {
			return nil, err
		}
		return OpenURI(context.Background(), u)
	})
}

// testEndpoint is the MinIO (or S3) endpoint the tests use. Without one the
// test fails, unless LAKESQL_TEST_S3=skip asks to skip S3 tests.
func testEndpoint(t testing.TB) string {
	t.Helper()
	ep := os.Getenv("LAKESQL_TEST_S3_ENDPOINT")
	if ep == "" {
		const how = "LAKESQL_TEST_S3_ENDPOINT is not set: run ./scripts/test.sh, which starts a MinIO server " +
			"and sets it, or set LAKESQL_TEST_S3_ENDPOINT=http://HOST:PORT with AWS_ACCESS_KEY_ID, " +
			"AWS_SECRET_ACCESS_KEY and AWS_REGION yourself"
		if os.Getenv("LAKESQL_TEST_S3") == "skip" {
			t.Skip(how + " (skipped: LAKESQL_TEST_S3=skip)")
		}
		t.Fatal(how + "; LAKESQL_TEST_S3=skip skips the S3 tests")
	}
	return ep
}

// rawClient is a plain SDK client for the test server, to set up and inspect
// buckets behind the store's back.
func rawClient(t testing.TB) *s3.Client {
	t.Helper()
	ep := testEndpoint(t)
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	return s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(ep),
		UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(
			os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// randomName is a random lower-case name with a prefix.
func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newBucket creates a fresh bucket, removed with its content when the test
// ends.
func newBucket(t testing.TB) string {
	t.Helper()
	c := rawClient(t)
	bucket := randomName("lakesql-test-")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("creating bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() { removeBucket(t, c, bucket) })
	return bucket
}

// removeBucket empties and deletes a test bucket, best effort.
func removeBucket(t testing.TB, c *s3.Client, bucket string) {
	ctx := context.Background()
	uploads, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err == nil {
		for _, u := range uploads.Uploads {
			c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId})
		}
	}
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Logf("cleaning bucket %s: %v", bucket, err)
			return
		}
		for _, obj := range page.Contents {
			c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: obj.Key})
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
		t.Logf("deleting bucket %s: %v", bucket, err)
	}
}

// testConfig configures a store on the test server; credentials come from
// the environment.
func testConfig(t testing.TB, bucket, prefix string) Config {
	return Config{Bucket: bucket, Prefix: prefix, Endpoint: testEndpoint(t), PathStyle: true}
}

// newTestStore opens a store, closed when the test ends.
func newTestStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the store conformance suite at a bucket's root (a
// fresh bucket per subtest) and under a prefix (a fresh prefix per subtest,
// with objects outside the prefix that the store must not see).
func TestConformance(t *testing.T) {
	testEndpoint(t)
	t.Run("Root", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return newTestStore(t, testConfig(t, newBucket(t), ""))
		})
	})
	t.Run("Prefix", func(t *testing.T) {
		bucket := newBucket(t)
		c := rawClient(t)
		storetest.Run(t, func(t *testing.T) store.Store {
			prefix := randomName("tables/p")
			// Neighbours that share the prefix's first bytes but lie
			// outside it, and a left-over probe object List must skip.
			for _, k := range []string{prefix + "x/a", prefix + "0", prefix + "/.lakesql-probe/left-over"} {
				if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(k)}); err != nil {
					t.Fatal(err)
				}
			}
			return newTestStore(t, testConfig(t, bucket, prefix))
		})
	})
}

// TestProcessRace races OS processes on put-if-absent through OpenURI.
func TestProcessRace(t *testing.T) {
	ep := testEndpoint(t)
	bucket := newBucket(t)
	uri := "s3://" + bucket + "/race?endpoint=" + url.QueryEscape(ep) + "&path_style=true"
	storetest.RunProcessRace(t, uri)
}

// BenchmarkS3 runs the store benchmarks against the test server.
func BenchmarkS3(b *testing.B) {
	testEndpoint(b)
	storetest.Bench(b, func(b *testing.B) store.Store {
		return newTestStore(b, testConfig(b, newBucket(b), "bench"))
	})
}
