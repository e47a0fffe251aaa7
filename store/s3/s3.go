package s3

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/lakesql/lakesql/store"
)

// Defaults and limits of the Config sizes.
const (
	// DefaultMultipartThreshold is the largest body Put sends in one
	// PutObject; longer bodies go up in a multipart upload.
	DefaultMultipartThreshold = 16 << 20
	// DefaultPartSize is the size of a multipart upload's parts.
	DefaultPartSize = 8 << 20
	// DefaultMaxAttempts bounds the attempts of every request.
	DefaultMaxAttempts = 5

	// MinPartSize is S3's smallest part (all but the last one).
	MinPartSize = 5 << 20
	// maxPartSize is S3's largest part, and its largest PutObject.
	maxPartSize = 5 << 30
	// maxParts is the most parts a multipart upload may have.
	maxParts = 10000
	// partConcurrency is how many parts of one Put are in flight at once.
	partConcurrency = 4
	// probeTimeout bounds each step of the probe New runs, so an
	// unreachable server fails fast.
	probeTimeout = 5 * time.Second
	// dialTimeout bounds opening a connection (the SDK's default is 30 s).
	dialTimeout = 10 * time.Second
	// probeAttempts bounds the attempts of each probe request.
	probeAttempts = 2
)

// Config configures a Store. Only Bucket is required.
type Config struct {
	// Bucket is the bucket's name.
	Bucket string
	// Prefix roots the store inside the bucket: an object name is stored at
	// key Prefix + "/" + name. Empty means the bucket's root.
	Prefix string
	// Endpoint is the server's base URL, e.g. http://127.0.0.1:9000 for
	// MinIO. Empty means AWS S3 (or AWS_ENDPOINT_URL_S3 when set).
	Endpoint string
	// Region is the bucket's region. Empty means AWS_REGION or the
	// profile's region, else us-east-1.
	Region string
	// PathStyle addresses the bucket in the path (endpoint/bucket/key)
	// instead of the host name, as MinIO and most S3-compatible servers
	// want.
	PathStyle bool
	// Profile selects a shared config profile (~/.aws/config) for
	// credentials and region.
	Profile string
	// AccessKeyID, SecretAccessKey and SessionToken are static
	// credentials. When AccessKeyID is empty, credentials come from the
	// standard AWS chain (environment, shared config, instance roles).
	AccessKeyID, SecretAccessKey, SessionToken string
	// Anonymous sends unsigned requests (aws.AnonymousCredentials): for
	// public buckets. No credentials are looked for, neither in the
	// fields above (which must be empty) nor in the AWS chain; Profile, if
	// set, still gives the region.
	Anonymous bool
	// ReadOnly opens a store that lakesql only reads, such as an external
	// container of data files: New sends no request at all (no HeadBucket,
	// which a user allowed to read objects may lack, and no
	// conditional-write probe, which writes), and Put and Delete fail
	// without a request. A missing bucket or refused credentials then show
	// at the first read: a refused read matches ErrAccessDenied, and a
	// missing bucket makes Stat (whose HEAD answer has no body to tell)
	// report the object missing.
	ReadOnly bool
	// MultipartThreshold is the largest body sent in one PutObject
	// (default DefaultMultipartThreshold, at most 5 GiB).
	MultipartThreshold int64
	// PartSize is the size of multipart parts (default DefaultPartSize,
	// at least MinPartSize, at most 5 GiB).
	PartSize int64
	// MaxAttempts bounds the attempts of every request (default
	// DefaultMaxAttempts).
	MaxAttempts int
	// HTTPClient, when set, sends the requests (tests use it to inject
	// faults). The default is a pooled client of the AWS SDK.
	HTTPClient *http.Client
}

// Store is a store.Store kept in an S3 bucket under a prefix. It is safe for
// concurrent use.
type Store struct {
	client      *s3.Client
	bucket      string
	prefix      string // cleaned, no leading or trailing slash; "" for the root
	server      string // the endpoint for messages, without credentials
	desc        string // String()
	threshold   int64
	partSize    int64
	maxAttempts int
	secrets     []string // never to appear in an error or a log line
	log         *slog.Logger
	readOnly    bool // Config.ReadOnly: Put and Delete fail
	closeIdle   func()
	closed      atomic.Bool
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.CheckedOpener = (*Store)(nil)
)

// New opens the store cfg describes. It checks that the bucket exists and is
// reachable with the credentials, and that the server honours conditional
// writes (see the package documentation); a server that ignores them gives
// ErrConditionalWritesUnsupported. With cfg.ReadOnly it checks only that
// credentials can be found (unless cfg.Anonymous) and sends no request.
func New(ctx context.Context, cfg Config) (*Store, error) {
	s, err := newStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.ReadOnly {
		if !cfg.Anonymous {
			if err := s.probeCredentials(ctx); err != nil {
				s.Close()
				return nil, err
			}
		}
		return s, nil
	}
	if err := s.probe(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenURI opens the store a URI such as
// s3://bucket/prefix?endpoint=http://127.0.0.1:9000&path_style=true names;
// see ParseURI for its parameters, and New.
func OpenURI(ctx context.Context, u *url.URL) (*Store, error) {
	cfg, err := ParseURI(u)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg)
}

// newStore checks cfg and builds the client, without any request.
func newStore(ctx context.Context, cfg Config) (*Store, error) {
	if err := checkBucket(cfg.Bucket); err != nil {
		return nil, err
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		if err := store.ValidateName(prefix); err != nil {
			return nil, fmt.Errorf("s3: bucket %q: bad prefix: %w", cfg.Bucket, err)
		}
	}
	s := &Store{
		bucket:      cfg.Bucket,
		prefix:      prefix,
		threshold:   orDefault(cfg.MultipartThreshold, DefaultMultipartThreshold),
		partSize:    orDefault(cfg.PartSize, DefaultPartSize),
		maxAttempts: int(orDefault(int64(cfg.MaxAttempts), DefaultMaxAttempts)),
		log:         slog.Default(),
		readOnly:    cfg.ReadOnly,
	}
	s.desc = "s3://" + path.Join(s.bucket, s.prefix)
	switch {
	case s.threshold < 1 || s.threshold > maxPartSize:
		return nil, fmt.Errorf("s3: %s: multipart threshold %d is not between 1 and %d", s.desc, s.threshold, int64(maxPartSize))
	case s.partSize < MinPartSize || s.partSize > maxPartSize:
		return nil, fmt.Errorf("s3: %s: part size %d is not between %d and %d", s.desc, s.partSize, MinPartSize, int64(maxPartSize))
	case s.maxAttempts < 1:
		return nil, fmt.Errorf("s3: %s: max attempts %d is less than 1", s.desc, s.maxAttempts)
	case cfg.AccessKeyID == "" && (cfg.SecretAccessKey != "" || cfg.SessionToken != ""):
		return nil, fmt.Errorf("s3: %s: a secret access key or session token needs an access key id", s.desc)
	case cfg.AccessKeyID != "" && cfg.SecretAccessKey == "":
		return nil, fmt.Errorf("s3: %s: access key id without a secret access key", s.desc)
	case cfg.Anonymous && cfg.AccessKeyID != "":
		return nil, fmt.Errorf("s3: %s: anonymous access takes no access key id", s.desc)
	}
	for _, sec := range []string{cfg.SecretAccessKey, cfg.SessionToken} {
		if sec != "" {
			s.secrets = append(s.secrets, sec)
		}
	}
	endpoint := ""
	if cfg.Endpoint != "" {
		ep, err := cleanEndpoint(cfg.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("s3: %s: %w", s.desc, err)
		}
		endpoint = ep
	}

	var opts []func(*config.LoadOptions) error
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	switch {
	case cfg.Anonymous:
		opts = append(opts, config.WithCredentialsProvider(aws.AnonymousCredentials{}))
	case cfg.AccessKeyID != "":
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, s.redact(fmt.Errorf("s3: %s: loading the AWS configuration: %w", s.desc, err))
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	var httpClient s3.HTTPClient
	if cfg.HTTPClient != nil {
		httpClient = cfg.HTTPClient
	} else {
		bc := awshttp.NewBuildableClient().
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
			WithTransportOptions(func(t *http.Transport) { t.MaxIdleConnsPerHost = 64 })
		httpClient = bc
		s.closeIdle = func() { bc.GetTransport().CloseIdleConnections() }
	}
	s.client = s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = cfg.PathStyle
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.HTTPClient = httpClient
		o.Retryer = newRetryer(s.maxAttempts, 0)
		// Checksums only where S3 requires them: many S3-compatible
		// servers reject the SDK's newer default trailing checksums.
		// Payloads are still covered by the SigV4 payload hash.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.Logger = logging.Nop{}
	})
	// The endpoint may also come from AWS_ENDPOINT_URL(_S3) or the profile.
	if ep := s.client.Options().BaseEndpoint; ep != nil {
		if clean, err := cleanEndpoint(*ep); err == nil {
			s.server = clean
			s.desc += " (endpoint " + clean + ")"
		}
	}
	if s.server == "" {
		s.server = "AWS S3 (region " + awsCfg.Region + ")"
	}
	return s, nil
}

// newRetryer is the SDK's standard retryer without its client-side retry
// quota (which fails requests after a burst of errors), retrying 409
// ConditionalRequestConflict too, with maxBackoff when not zero.
func newRetryer(attempts int, maxBackoff time.Duration) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.RateLimiter = ratelimit.None
		if maxBackoff > 0 {
			o.MaxBackoff = maxBackoff
		}
		conflict := retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if apiCode(err) == "ConditionalRequestConflict" {
				return aws.TrueTernary
			}
			return aws.UnknownTernary
		})
		o.Retryables = append([]retry.IsErrorRetryable{conflict}, o.Retryables...)
	})
}

// String names the store: its bucket, prefix and endpoint, never its
// credentials.
func (s *Store) String() string { return s.desc }

// Close releases the store's idle connections. The store cannot be used
// afterwards.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.closeIdle != nil {
		s.closeIdle()
	}
	return nil
}

// key is the S3 key of an object name (or of a list prefix).
func (s *Store) key(name string) string {
	if s.prefix == "" {
		return name
	}
	return s.prefix + "/" + name
}

// keyPrefix is what every key of the store begins with.
func (s *Store) keyPrefix() string {
	if s.prefix == "" {
		return ""
	}
	return s.prefix + "/"
}

// checkOpen fails once the store is closed, and for the writes (op "put"
// and "delete") of a read-only store.
func (s *Store) checkOpen(op, name string) error {
	if s.closed.Load() {
		return fmt.Errorf("%s: %s %q: %w", s, op, name, errClosed)
	}
	if s.readOnly && (op == "put" || op == "delete") {
		return fmt.Errorf("%s: %s %q: %w", s, op, name, errReadOnly)
	}
	return nil
}

var (
	errClosed   = errors.New("store is closed")
	errReadOnly = errors.New("the store is read-only (Config.ReadOnly)")
)

func orDefault(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

// checkBucket refuses bucket names no S3 server accepts.
func checkBucket(b string) error {
	if b == "" {
		return errors.New("s3: missing bucket name")
	}
	if len(b) > 255 || strings.ContainsAny(b, "/\\?#%") || strings.ContainsFunc(b, func(r rune) bool {
		return r <= ' ' || r == 0x7f
	}) {
		return fmt.Errorf("s3: invalid bucket name %q", b)
	}
	return nil
}

// cleanEndpoint checks an endpoint URL and returns it without user
// information, query or fragment, fit for messages.
func cleanEndpoint(ep string) (string, error) {
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("the endpoint must be an http:// or https:// URL with a host")
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return strings.TrimSuffix(u.String(), "/"), nil
}
