package s3

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		uri     string
		want    Config
		wantErr string // a part of the error message
	}{
		{uri: "s3://bucket", want: Config{Bucket: "bucket"}},
		{uri: "s3://bucket/", want: Config{Bucket: "bucket"}},
		{uri: "s3://bucket/a/b/", want: Config{Bucket: "bucket", Prefix: "a/b"}},
		{
			uri: "s3://b/tables?endpoint=http://127.0.0.1:9000&region=eu-west-1&path_style=true&profile=dev" +
				"&multipart_threshold=5242880&part_size=6291456&max_attempts=3",
			want: Config{Bucket: "b", Prefix: "tables", Endpoint: "http://127.0.0.1:9000", Region: "eu-west-1",
				PathStyle: true, Profile: "dev", MultipartThreshold: 5 << 20, PartSize: 6 << 20, MaxAttempts: 3},
		},
		{
			uri:  "s3://b?access_key_id=AK&secret_access_key=S%2Fecret&session_token=TOK",
			want: Config{Bucket: "b", AccessKeyID: "AK", SecretAccessKey: "S/ecret", SessionToken: "TOK"},
		},
		{uri: "s3://b?path_style=false", want: Config{Bucket: "b"}},
		{uri: "s3://b?endpoint=https%3A%2F%2Fs3.example.com", want: Config{Bucket: "b", Endpoint: "https://s3.example.com"}},

		{uri: "s3:///prefix", wantErr: "missing bucket name"},
		{uri: "s3://", wantErr: "missing bucket name"},
		{uri: "s3:bucket", wantErr: "want s3://bucket/prefix"},
		{uri: "gs://bucket", wantErr: `scheme "gs" is not s3`},
		{uri: "s3://b?color=blue", wantErr: `unknown parameter "color"`},
		{uri: "s3://b?region=x&Endpoint=y&zone=z", wantErr: `unknown parameter "Endpoint", "zone"`},
		{uri: "s3://b?multipart_threshold=16MiB", wantErr: `multipart_threshold="16MiB" is not a positive number`},
		{uri: "s3://b?part_size=-5", wantErr: `part_size="-5" is not a positive number`},
		{uri: "s3://b?part_size=99999999999999999999", wantErr: "part_size"},
		{uri: "s3://b?max_attempts=0", wantErr: "max_attempts"},
		{uri: "s3://b?max_attempts=1000", wantErr: "more than 100"},
		{uri: "s3://b?path_style=maybe", wantErr: `path_style="maybe" is not a boolean`},
		{uri: "s3://b?region=a&region=b", wantErr: "region given 2 times"},
		{uri: "s3://b?endpoint=127.0.0.1:9000", wantErr: "http:// or https://"},
		{uri: "s3://b?secret_access_key=hush", wantErr: "without access_key_id"},
		{uri: "s3://b?access_key_id=AK", wantErr: "access_key_id without secret_access_key"},
		{uri: "s3://AK:hush@b", wantErr: "credentials go in the access_key_id"},
		{uri: "s3://b#frag", wantErr: "fragment"},
	}
	for _, tc := range tests {
		u, err := url.Parse(tc.uri)
		if err != nil {
			t.Fatalf("%s: %v", tc.uri, err)
		}
		got, err := ParseURI(u)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseURI(%s): error %v, want one containing %q", tc.uri, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hush") {
				t.Errorf("ParseURI(%s): the error repeats the secret: %v", tc.uri, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURI(%s): %v", tc.uri, err)
		} else if got != tc.want {
			t.Errorf("ParseURI(%s):\n got %+v\nwant %+v", tc.uri, got, tc.want)
		}
	}
}

// TestConfigChecks covers the checks of New that need no server.
func TestConfigChecks(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		cfg     Config
		wantErr string
	}{
		{Config{}, "missing bucket name"},
		{Config{Bucket: "b/c"}, "invalid bucket name"},
		{Config{Bucket: "b", Prefix: "a/../b"}, "bad prefix"},
		{Config{Bucket: "b", Prefix: "a//b"}, "bad prefix"},
		{Config{Bucket: "b", PartSize: 1 << 20}, "part size"},
		{Config{Bucket: "b", MultipartThreshold: -1}, "multipart threshold"},
		{Config{Bucket: "b", MaxAttempts: -2}, "max attempts"},
		{Config{Bucket: "b", Endpoint: "ftp://host"}, "http:// or https://"},
		{Config{Bucket: "b", SecretAccessKey: "hush"}, "needs an access key id"},
	}
	for _, tc := range tests {
		_, err := New(ctx, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("New(%+v): error %v, want one containing %q", tc.cfg, err, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "hush") {
			t.Errorf("New(%+v): the error repeats the secret: %v", tc.cfg, err)
		}
	}
}

func TestStringHidesSecrets(t *testing.T) {
	const secret, token = "Sup3rS3cretAccessKey", "SessionTok3nValue"
	s, err := newStore(context.Background(), Config{
		Bucket: "bucket", Prefix: "/tables/x/", Endpoint: "http://user:" + secret + "@127.0.0.1:9000/?q=" + token,
		AccessKeyID: "AKID", SecretAccessKey: secret, SessionToken: token,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := s.String()
	if want := "s3://bucket/tables/x (endpoint http://127.0.0.1:9000)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, sec := range []string{secret, token} {
		if strings.Contains(got, sec) {
			t.Errorf("String() %q contains a secret", got)
		}
	}
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	s2, err := newStore(context.Background(), Config{Bucket: "b", Region: "eu-north-1", AccessKeyID: "A", SecretAccessKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s2.String(), "s3://b"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	// The redaction guard of error messages.
	err = s.fail("put", "x", errorString("upstream said "+secret+" and "+token))
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), token) {
		t.Errorf("error message contains a secret: %v", err)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
