package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/lakesql/lakesql/store/external"
	"github.com/lakesql/lakesql/store/s3"
)

// fileConfig is the server's optional config file (--config, TOML). Flags
// given on the command line win over it.
//
//	listen = "127.0.0.1:3306"
//	data = "s3://bucket/prefix?endpoint=http://127.0.0.1:9000&path_style=true"
//	memtable_bytes = 33554432
//	page_cache_bytes = 1073741824
//	warm_cache = true
//	flush_interval = "1m"
//	checkpoint_interval = 100
//	log_level = "info"
//	tls_cert = "server.pem"
//	tls_key = "server-key.pem"
//
//	[virtual]            # credentials for virtual files of any container
//	access_key_id = "..."
//	secret_access_key = "..."
//
//	[containers.archive] # credentials for the container named archive
//	access_key_id = "..."
//	secret_access_key = "..."
type fileConfig struct {
	path               string                       // where it was read from, for messages
	Listen             string                       `toml:"listen"`
	Data               string                       `toml:"data"`
	MemtableBytes      int64                        `toml:"memtable_bytes"`
	PageCacheBytes     int64                        `toml:"page_cache_bytes"`
	WarmCache          *bool                        `toml:"warm_cache"`
	FlushInterval      string                       `toml:"flush_interval"`
	CheckpointInterval int64                        `toml:"checkpoint_interval"`
	LogLevel           string                       `toml:"log_level"`
	TLSCert            string                       `toml:"tls_cert"`
	TLSKey             string                       `toml:"tls_key"`
	Virtual            *credentialsConfig           `toml:"virtual"`
	Containers         map[string]credentialsConfig `toml:"containers"`
}

// credentialsConfig are S3 credentials in the config file.
type credentialsConfig struct {
	AccessKeyID     string `toml:"access_key_id"`
	SecretAccessKey string `toml:"secret_access_key"`
	SessionToken    string `toml:"session_token"`
}

func (c credentialsConfig) credentials() external.Credentials {
	return external.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
}

// loadConfig reads a config file; an unknown key is an error (a typo
// would otherwise be ignored silently).
func loadConfig(path string) (*fileConfig, error) {
	var fc fileConfig
	md, err := toml.DecodeFile(path, &fc)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config file %s: unknown settings %s", path, strings.Join(keys, ", "))
	}
	if c := fc.Virtual; c != nil && (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		return nil, fmt.Errorf("config file %s: [virtual] needs both access_key_id and secret_access_key", path)
	}
	fc.path = path
	for name, c := range fc.Containers {
		if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
			return nil, fmt.Errorf("config file %s: [containers.%s] needs both access_key_id and secret_access_key", path, name)
		}
	}
	return &fc, nil
}

// applyConfig sets f's settings from fc where no flag set them.
func applyConfig(fs *flag.FlagSet, f *serveFlags, fc *fileConfig) error {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	str := func(flagName string, dst *string, v string) {
		if !set[flagName] && v != "" {
			*dst = v
		}
	}
	str("listen", &f.listen, fc.Listen)
	str("data", &f.data, fc.Data)
	str("log-level", &f.logLevel, fc.LogLevel)
	str("tls-cert", &f.tlsCert, fc.TLSCert)
	str("tls-key", &f.tlsKey, fc.TLSKey)
	if !set["memtable-bytes"] && fc.MemtableBytes > 0 {
		f.flushBytes = fc.MemtableBytes
	}
	if !set["page-cache-bytes"] && fc.PageCacheBytes > 0 {
		f.pageCache = fc.PageCacheBytes
	}
	if !set["warm-cache"] && fc.WarmCache != nil {
		f.warmCache = *fc.WarmCache
	}
	if !set["checkpoint-interval"] && fc.CheckpointInterval > 0 {
		f.checkpoint = fc.CheckpointInterval
	}
	if !set["flush-interval"] && fc.FlushInterval != "" {
		d, err := time.ParseDuration(fc.FlushInterval)
		if err != nil || d < 0 {
			return fmt.Errorf("config file %s: flush_interval %q is not a duration such as \"30s\" or \"1m\"", fc.path, fc.FlushInterval)
		}
		f.flushInterval = d
	}
	return nil
}

// externalResolver builds the resolver of virtual files' containers: the
// credentials of the config file (when there is one), the environment,
// and the data location's own S3 configuration.
func externalResolver(ctx context.Context, data string, fc *fileConfig) *external.Resolver {
	var cfg external.Config
	if fc != nil {
		if fc.Virtual != nil {
			c := fc.Virtual.credentials()
			cfg.Default = &c
		}
		cfg.Containers = map[string]external.Credentials{}
		for _, name := range sortedKeys(fc.Containers) {
			cfg.Containers[name] = fc.Containers[name].credentials()
		}
	}
	if u, err := url.Parse(data); err == nil && strings.EqualFold(u.Scheme, "s3") {
		if sc, err := s3.ParseURI(u); err == nil {
			cfg.Store = &external.StoreS3{Endpoint: sc.Endpoint, Region: sc.Region, PathStyle: sc.PathStyle, Profile: sc.Profile,
				Credentials: external.Credentials{AccessKeyID: sc.AccessKeyID, SecretAccessKey: sc.SecretAccessKey, SessionToken: sc.SessionToken}}
		}
	}
	return external.New(cfg)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
