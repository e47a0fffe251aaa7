package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/s3"
	"github.com/lakesql/lakesql/store/s3/s3test"
)

// extConfig is a read-only store on the external test bucket, under "data".
func extConfig(ext s3test.ExternalServer) s3.Config {
	return s3.Config{Bucket: ext.Bucket, Prefix: "data", Endpoint: ext.Endpoint, PathStyle: true, ReadOnly: true}
}

// TestReadOnlyExternal reads a bucket of the second test server (another
// root user) with its credentials through a read-only store.
func TestReadOnlyExternal(t *testing.T) {
	ctx := context.Background()
	ext := s3test.External(t)
	content := bytes.Repeat([]byte("external"), 20<<10) // 160 KiB
	ext.Put(t, "data/f.parquet", content)

	cfg := extConfig(ext)
	cfg.AccessKeyID, cfg.SecretAccessKey = ext.AccessKeyID, ext.SecretAccessKey
	st, err := s3.New(ctx, cfg)
	if err != nil {
		t.Fatalf("opening a read-only store on the external server: %v", err)
	}
	defer st.Close()
	info, err := st.Stat(ctx, "f.parquet")
	if err != nil {
		t.Fatal(err)
	}
	exp := store.Expect{ETag: info.ETag, Size: info.Size, LastModified: info.LastModified}
	obj, err := store.OpenExpect(ctx, st, "f.parquet", exp)
	if err != nil {
		t.Fatalf("OpenExpect: %v", err)
	}
	got := make([]byte, len(content))
	if _, err := obj.ReadAt(got, 0); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("ReadAt: %v, or other bytes", err)
	}
	obj.Close()
	if _, err := store.PutBytes(ctx, st, "g.parquet", []byte("x")); err == nil {
		t.Fatal("a read-only store wrote")
	}

	// Overwritten, then deleted, by someone else.
	ext.Put(t, "data/f.parquet", append(content, '!'))
	if _, err := store.OpenExpect(ctx, st, "f.parquet", exp); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("OpenExpect of an overwritten object: %v", err)
	}
	ext.Delete(t, "data/f.parquet")
	if _, err := store.OpenExpect(ctx, st, "f.parquet", exp); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("OpenExpect of a deleted object: %v", err)
	}

	// The first server's credentials (the environment's) are not the
	// second's: reads are refused, as access denied.
	cfg = extConfig(ext)
	ext.Put(t, "data/f.parquet", content)
	other, err := s3.New(ctx, cfg)
	if err != nil {
		t.Fatalf("opening a read-only store with the environment's credentials: %v", err)
	}
	defer other.Close()
	_, err = other.Open(ctx, "f.parquet")
	if !errors.Is(err, s3.ErrAccessDenied) {
		t.Fatalf("reading the external bucket with the first server's credentials: %v", err)
	}
	if s := os.Getenv("AWS_SECRET_ACCESS_KEY"); s != "" && strings.Contains(err.Error(), s) {
		t.Fatalf("the error holds the secret: %v", err)
	}
}

// TestAnonymous reads without credentials: refused on a private bucket, even
// when the environment holds credentials that could read it, and allowed
// once a policy opens the bucket to everyone.
func TestAnonymous(t *testing.T) {
	ctx := context.Background()
	ext := s3test.External(t)
	ext.Put(t, "data/f.parquet", []byte("public data"))
	// Credentials in the environment that may read the bucket: anonymous
	// access must not use them.
	t.Setenv("AWS_ACCESS_KEY_ID", ext.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", ext.SecretAccessKey)
	cfg := extConfig(ext)
	cfg.Anonymous = true
	st, err := s3.New(ctx, cfg)
	if err != nil {
		t.Fatalf("opening an anonymous store: %v", err)
	}
	defer st.Close()
	_, err = st.Open(ctx, "f.parquet")
	if !errors.Is(err, s3.ErrAccessDenied) {
		t.Fatalf("anonymous read of a private bucket: %v", err)
	}
	if strings.Contains(err.Error(), ext.SecretAccessKey) {
		t.Fatalf("the error holds the secret: %v", err)
	}
	t.Logf("error: %v", err)
	if _, err := st.Stat(ctx, "f.parquet"); !errors.Is(err, s3.ErrAccessDenied) {
		t.Fatalf("anonymous stat in a private bucket: %v", err)
	}

	// Public read for everyone.
	admin := awss3.New(awss3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(ext.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(ext.AccessKeyID, ext.SecretAccessKey, ""),
	})
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},`+
		`"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`, ext.Bucket)
	if _, err := admin.PutBucketPolicy(ctx, &awss3.PutBucketPolicyInput{Bucket: &ext.Bucket, Policy: &policy}); err != nil {
		t.Fatal(err)
	}
	got, err := store.ReadAll(ctx, st, "f.parquet")
	if err != nil || string(got) != "public data" {
		t.Fatalf("anonymous read of a public object: %q, %v", got, err)
	}
}
