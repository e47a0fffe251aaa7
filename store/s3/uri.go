package s3

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// uriParams lists the query parameters ParseURI knows.
const uriParams = "endpoint, region, path_style, profile, multipart_threshold, part_size, " +
	"max_attempts, access_key_id, secret_access_key, session_token"

// ParseURI turns a store URI into a Config, without any request:
//
//	s3://bucket/optional/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true
//
// Its query parameters are endpoint, region, path_style (a boolean),
// profile, multipart_threshold, part_size (bytes), max_attempts, and the
// static credentials access_key_id, secret_access_key and session_token.
// Without access_key_id credentials come from the standard AWS chain
// (environment variables, shared config profiles). Unknown or repeated
// parameters are errors. Error messages never repeat the URI's secrets.
func ParseURI(u *url.URL) (Config, error) {
	var cfg Config
	if u == nil {
		return cfg, errors.New("s3: nil URI")
	}
	where := "s3: URI s3://" + u.Host + u.EscapedPath()
	switch {
	case u.Scheme != "s3":
		return cfg, fmt.Errorf("%s: scheme %q is not s3", where, u.Scheme)
	case u.Opaque != "":
		return cfg, fmt.Errorf("s3: URI: want s3://bucket/prefix")
	case u.User != nil:
		return cfg, fmt.Errorf("%s: credentials go in the access_key_id and secret_access_key parameters, not before the bucket name", where)
	case u.Host == "":
		return cfg, fmt.Errorf("s3: URI: missing bucket name (want s3://bucket/prefix)")
	case u.Fragment != "":
		return cfg, fmt.Errorf("%s: unexpected fragment", where)
	}
	cfg.Bucket = u.Host
	cfg.Prefix = strings.Trim(u.Path, "/")

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// The query may hold secrets: do not repeat it.
		return cfg, fmt.Errorf("%s: malformed query", where)
	}
	var unknown []string
	for k, vs := range q {
		if !slices.Contains(strings.Split(uriParams, ", "), k) {
			unknown = append(unknown, strconv.Quote(k))
			continue
		}
		if len(vs) > 1 {
			return cfg, fmt.Errorf("%s: parameter %s given %d times", where, k, len(vs))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return cfg, fmt.Errorf("%s: unknown parameter %s (known: %s)", where,
			strings.Join(unknown, ", "), uriParams)
	}

	cfg.Endpoint = q.Get("endpoint")
	cfg.Region = q.Get("region")
	cfg.Profile = q.Get("profile")
	cfg.AccessKeyID = q.Get("access_key_id")
	cfg.SecretAccessKey = q.Get("secret_access_key")
	cfg.SessionToken = q.Get("session_token")
	if v := q.Get("path_style"); v != "" {
		if cfg.PathStyle, err = strconv.ParseBool(v); err != nil {
			return cfg, fmt.Errorf("%s: path_style=%q is not a boolean", where, v)
		}
	}
	num := func(k string) (int64, error) {
		v := q.Get(k)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%s: %s=%q is not a positive number", where, k, v)
		}
		return n, nil
	}
	if cfg.MultipartThreshold, err = num("multipart_threshold"); err != nil {
		return cfg, err
	}
	if cfg.PartSize, err = num("part_size"); err != nil {
		return cfg, err
	}
	n, err := num("max_attempts")
	if err != nil {
		return cfg, err
	}
	if n > 100 {
		return cfg, fmt.Errorf("%s: max_attempts=%d is more than 100", where, n)
	}
	cfg.MaxAttempts = int(n)
	if cfg.Endpoint != "" {
		if _, err := cleanEndpoint(cfg.Endpoint); err != nil {
			return cfg, fmt.Errorf("%s: %w", where, err)
		}
	}
	if cfg.AccessKeyID == "" && (cfg.SecretAccessKey != "" || cfg.SessionToken != "") {
		return cfg, fmt.Errorf("%s: secret_access_key or session_token without access_key_id", where)
	}
	if cfg.AccessKeyID != "" && cfg.SecretAccessKey == "" {
		return cfg, fmt.Errorf("%s: access_key_id without secret_access_key", where)
	}
	return cfg, nil
}
