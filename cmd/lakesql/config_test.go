package main

import (
	"context"
	"flag"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/external"
	"github.com/lakesql/lakesql/store/s3/s3test"
)

// fullConfig sets every key of fileConfig's doc comment.
const fullConfig = `
listen = "127.0.0.1:3307"
data = "s3://bucket/prefix?endpoint=http://127.0.0.1:9000&path_style=true"
memtable_bytes = 33554432
flush_interval = "30s"
checkpoint_interval = 50
log_level = "debug"
tls_cert = "server.pem"
tls_key = "server-key.pem"

[virtual]
access_key_id = "VAK"
secret_access_key = "VSK"

[containers.archive]
access_key_id = "AAK"
secret_access_key = "ASK"
session_token = "ATOK"

[containers.my-lake]
access_key_id = "MAK"
secret_access_key = "MSK"
`

func TestLoadConfig(t *testing.T) {
	path := writeFile(t, t.TempDir(), "lakesql.toml", fullConfig)
	fc, err := loadConfig(path)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	want := &fileConfig{
		path:               path,
		Listen:             "127.0.0.1:3307",
		Data:               "s3://bucket/prefix?endpoint=http://127.0.0.1:9000&path_style=true",
		MemtableBytes:      33554432,
		FlushInterval:      "30s",
		CheckpointInterval: 50,
		LogLevel:           "debug",
		TLSCert:            "server.pem",
		TLSKey:             "server-key.pem",
		Virtual:            &credentialsConfig{AccessKeyID: "VAK", SecretAccessKey: "VSK"},
		Containers: map[string]credentialsConfig{
			"archive": {AccessKeyID: "AAK", SecretAccessKey: "ASK", SessionToken: "ATOK"},
			"my-lake": {AccessKeyID: "MAK", SecretAccessKey: "MSK"},
		},
	}
	if !reflect.DeepEqual(fc, want) {
		t.Fatalf("loadConfig:\n got %+v\nwant %+v", fc, want)
	}
	empty := writeFile(t, t.TempDir(), "empty.toml", "")
	if fc, err := loadConfig(empty); err != nil || !reflect.DeepEqual(fc, &fileConfig{path: empty}) {
		t.Fatalf("loadConfig of an empty file: %+v, %v", fc, err)
	}

	for _, tc := range []struct {
		name, content string
		want          []string // in the error, besides the file's path
	}{
		{"unknown key", "listen = \"127.0.0.1:3307\"\nlisten_addr = \"x\"\n", []string{"unknown settings", "listen_addr"}},
		{"unknown container key", "[containers.archive]\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\nregion = \"eu\"\n", []string{"unknown settings", "containers.archive.region"}},
		{"unknown section", "[virtaul]\naccess_key_id = \"a\"\n", []string{"unknown settings", "virtaul"}},
		{"container without secret", "[containers.archive]\naccess_key_id = \"a\"\n", []string{"[containers.archive]", "access_key_id and secret_access_key"}},
		{"container without key id", "[containers.x]\nsecret_access_key = \"b\"\n", []string{"[containers.x]", "access_key_id and secret_access_key"}},
		{"virtual without secret", "[virtual]\naccess_key_id = \"a\"\n", []string{"[virtual]", "access_key_id and secret_access_key"}},
		{"virtual without key id", "[virtual]\nsecret_access_key = \"b\"\n", []string{"[virtual]", "access_key_id and secret_access_key"}},
		{"bad TOML", "listen = \n", nil},
		{"wrong type", "memtable_bytes = \"big\"\n", []string{"memtable_bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "bad.toml", tc.content)
			fc, err := loadConfig(path)
			if err == nil {
				t.Fatalf("loadConfig accepted %q: %+v", tc.content, fc)
			}
			for _, s := range append([]string{path}, tc.want...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("the error does not say %q: %v", s, err)
				}
			}
		})
	}
	if _, err := loadConfig(filepath.Join(t.TempDir(), "missing.toml")); err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("loadConfig of a missing file: %v", err)
	}
}

// parseServeFlags parses args with serve's flags and defaults (see serve;
// TestServeConfigFlag checks that serve has flags of these names).
func parseServeFlags(t *testing.T, args ...string) (*flag.FlagSet, *serveFlags) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := &serveFlags{}
	fs.StringVar(&f.listen, "listen", "127.0.0.1:3306", "")
	fs.StringVar(&f.data, "data", "./lakesql-data", "")
	fs.Int64Var(&f.flushBytes, "memtable-bytes", 32<<20, "")
	fs.DurationVar(&f.flushInterval, "flush-interval", time.Minute, "")
	fs.Int64Var(&f.checkpoint, "checkpoint-interval", 100, "")
	fs.StringVar(&f.logLevel, "log-level", "info", "")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "")
	fs.StringVar(&f.tlsKey, "tls-key", "", "")
	fs.StringVar(&f.debugAddr, "debug-addr", "", "")
	fs.StringVar(&f.config, "config", "", "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs, f
}

func TestApplyConfig(t *testing.T) {
	fc := &fileConfig{
		Listen: "127.0.0.1:4000", Data: "/var/lakesql", MemtableBytes: 1 << 20, FlushInterval: "30s",
		CheckpointInterval: 7, LogLevel: "debug", TLSCert: "c.pem", TLSKey: "k.pem",
	}
	fromFile := serveFlags{listen: "127.0.0.1:4000", data: "/var/lakesql", flushBytes: 1 << 20, flushInterval: 30 * time.Second,
		checkpoint: 7, logLevel: "debug", tlsCert: "c.pem", tlsKey: "k.pem", config: "f.toml"}
	for _, tc := range []struct {
		name string
		args []string
		fc   *fileConfig
		want serveFlags
	}{
		{"unset flags take the file's values", []string{"--config", "f.toml"}, fc, fromFile},
		{
			name: "flags win over the file",
			// Flags set to their defaults still win: 0 and "info" are asked for.
			args: []string{"--config", "f.toml", "--listen", "127.0.0.1:5000", "--memtable-bytes", "99", "--flush-interval", "0",
				"--checkpoint-interval", "100", "--log-level", "info", "--tls-key", "other.pem"},
			fc: fc,
			want: serveFlags{listen: "127.0.0.1:5000", data: "/var/lakesql", flushBytes: 99, flushInterval: 0,
				checkpoint: 100, logLevel: "info", tlsCert: "c.pem", tlsKey: "other.pem", config: "f.toml"},
		},
		{
			name: "data on the command line",
			args: []string{"--data", "/elsewhere", "--config", "f.toml"},
			fc:   fc,
			want: func() serveFlags { f := fromFile; f.data = "/elsewhere"; return f }(),
		},
		{
			name: "an empty file leaves the defaults",
			args: []string{"--config", "f.toml"},
			fc:   &fileConfig{},
			want: serveFlags{listen: "127.0.0.1:3306", data: "./lakesql-data", flushBytes: 32 << 20, flushInterval: time.Minute,
				checkpoint: 100, logLevel: "info", config: "f.toml"},
		},
		{
			name: "a zero flush interval in the file",
			args: []string{"--config", "f.toml"},
			fc:   &fileConfig{FlushInterval: "0s"},
			want: serveFlags{listen: "127.0.0.1:3306", data: "./lakesql-data", flushBytes: 32 << 20, flushInterval: 0,
				checkpoint: 100, logLevel: "info", config: "f.toml"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, f := parseServeFlags(t, tc.args...)
			if err := applyConfig(fs, f, tc.fc); err != nil {
				t.Fatalf("applyConfig: %v", err)
			}
			if *f != tc.want {
				t.Fatalf("applyConfig:\n got %+v\nwant %+v", *f, tc.want)
			}
		})
	}

	for _, bad := range []string{"soon", "10", "-1s"} {
		fs, f := parseServeFlags(t)
		err := applyConfig(fs, f, &fileConfig{FlushInterval: bad})
		if err == nil || !strings.Contains(err.Error(), "flush_interval") || !strings.Contains(err.Error(), bad) {
			t.Errorf("applyConfig with flush_interval %q: %v", bad, err)
		}
	}
	// A flag wins even over a bad value in the file.
	fs, f := parseServeFlags(t, "--flush-interval", "5s")
	if err := applyConfig(fs, f, &fileConfig{FlushInterval: "soon"}); err != nil || f.flushInterval != 5*time.Second {
		t.Errorf("applyConfig with --flush-interval and a bad flush_interval: %v, %s", err, f.flushInterval)
	}
}

// clearVirtualEnv empties the environment variables of the credential
// chain that the tests' containers (named c) would read.
func clearVirtualEnv(t *testing.T) {
	for _, part := range []string{"ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN"} {
		t.Setenv("LAKESQL_VIRTUAL_"+part, "")
		t.Setenv(external.EnvName("c", part), "")
	}
}

func TestExternalResolver(t *testing.T) {
	clearVirtualEnv(t)
	ctx := context.Background()
	const data = "s3://bucket/p?endpoint=http://127.0.0.1:9000&path_style=true&access_key_id=AK&secret_access_key=SK"
	c := external.Container{Name: "c", Prefix: "s3://other/x/", Platform: "s3", Endpoint: "http://127.0.0.1:9000", PathStyle: true}
	elsewhere := c
	elsewhere.Endpoint = "http://127.0.0.1:9001"
	withContainer := &fileConfig{Containers: map[string]credentialsConfig{"c": {AccessKeyID: "CAK", SecretAccessKey: "CSK"}}}
	withVirtual := &fileConfig{Virtual: &credentialsConfig{AccessKeyID: "VAK", SecretAccessKey: "VSK"}}
	for _, tc := range []struct {
		name string
		data string
		fc   *fileConfig
		c    external.Container
		want string
	}{
		{"the store's on its endpoint", data, nil, c, "the database store's credentials"},
		{"the store's with a file without credentials", data, &fileConfig{Listen: "127.0.0.1:3307"}, c, "the database store's credentials"},
		{"the container's in the file", data, withContainer, c, "the container's credentials in the configuration"},
		{"the file's [virtual]", data, withVirtual, c, "the default credentials for virtual reads"},
		{"the store on another endpoint", data, nil, elsewhere, "none: reads fail until the server has them"},
		{"the container's in the file, another endpoint", data, withContainer, elsewhere, "the container's credentials in the configuration"},
		{"a local data location", t.TempDir(), nil, c, "none: reads fail until the server has them"},
		{"a file container", data, nil, external.Container{Name: "c", Prefix: "file:///x/", Platform: "file"}, "not needed (local files)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := externalResolver(ctx, tc.data, tc.fc)
			defer r.Close()
			if got := r.CredentialSource(tc.c); got != tc.want {
				t.Fatalf("CredentialSource = %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("the container's in the environment", func(t *testing.T) {
		t.Setenv(external.EnvName("c", "ACCESS_KEY_ID"), "EAK")
		t.Setenv(external.EnvName("c", "SECRET_ACCESS_KEY"), "ESK")
		r := externalResolver(ctx, data, withVirtual)
		defer r.Close()
		if got, want := r.CredentialSource(c), "the container's credentials in LAKESQL_CONTAINER_C_*"; got != want {
			t.Fatalf("CredentialSource = %q, want %q", got, want)
		}
	})
}

// TestExternalResolverReads reads a container on the second test server
// with the credentials of a data location on that server: the resolver
// takes them from the location's URI (the environment's AWS credentials
// are the first server's, and would be refused).
func TestExternalResolverReads(t *testing.T) {
	clearVirtualEnv(t)
	ctx := context.Background()
	ext := s3test.External(t)
	ext.Put(t, "files/f.parquet", []byte("virtual"))
	data := "s3://" + ext.Bucket + "/db?endpoint=" + url.QueryEscape(ext.Endpoint) + "&path_style=true&access_key_id=" +
		url.QueryEscape(ext.AccessKeyID) + "&secret_access_key=" + url.QueryEscape(ext.SecretAccessKey)
	c := external.Container{Name: "c", Prefix: "s3://" + ext.Bucket + "/files/", Platform: "s3", Endpoint: ext.Endpoint, PathStyle: true}

	r := externalResolver(ctx, data, nil)
	defer r.Close()
	obj, err := r.Open(ctx, c, c.Prefix+"f.parquet", store.Expect{Size: 7})
	if err != nil {
		t.Fatalf("Open with the data location's credentials: %v", err)
	}
	defer obj.Close()
	got := make([]byte, 7)
	if _, err := obj.ReadAt(got, 0); err != nil || string(got) != "virtual" {
		t.Fatalf("read %q, %v", got, err)
	}

	// Without credentials in the URI, the store's link is the AWS chain:
	// the first server's credentials, refused by the second.
	bare := externalResolver(ctx, "s3://"+ext.Bucket+"/db?endpoint="+url.QueryEscape(ext.Endpoint)+"&path_style=true", nil)
	defer bare.Close()
	if _, err := bare.Open(ctx, c, c.Prefix+"f.parquet", store.Expect{}); err == nil || !strings.Contains(err.Error(), `container "c"`) {
		t.Fatalf("Open with the environment's credentials: %v, want a refusal naming the container", err)
	}
}

// TestServeConfigFlag runs `lakesql serve` with config files it must
// refuse before it opens anything, and checks that its help lists the
// flags a config file can set.
func TestServeConfigFlag(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for _, tc := range []struct {
		name, content string
		want          []string
	}{
		{"unknown key", "data = \"" + data + "\"\nlisten_adress = \"127.0.0.1:1\"\n", []string{"unknown settings", "listen_adress"}},
		{"half a container's credentials", "[containers.archive]\naccess_key_id = \"a\"\n", []string{"[containers.archive]"}},
		{"bad flush interval", "flush_interval = \"soon\"\n", []string{"flush_interval"}},
		{"bad TOML", "[containers\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "_")+".toml", tc.content)
			out, errOut, code := lakesql(t, "", "serve", "--config", path, "--listen", "127.0.0.1:0")
			if code != 2 {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if !strings.HasPrefix(errOut, "lakesql serve: config file") {
				t.Errorf("stderr does not start with the error: %s", errOut)
			}
			for _, s := range append([]string{path}, tc.want...) {
				if tc.name == "bad flush interval" && s == path {
					continue // applyConfig does not know the file's name
				}
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr does not say %q: %s", s, errOut)
				}
			}
		})
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a refused config file created the data location: %v", err)
	}
	if _, errOut, code := lakesql(t, "", "serve", "--config", filepath.Join(dir, "missing.toml")); code != 2 || !strings.Contains(errOut, "missing.toml") {
		t.Errorf("serve --config of a missing file: exit %d: %s", code, errOut)
	}

	out, errOut, code := lakesql(t, "", "serve", "--help")
	if code != 0 {
		t.Fatalf("serve --help: exit %d: %s", code, errOut)
	}
	help := out + errOut
	for _, fl := range []string{"-config", "-listen", "-data", "-memtable-bytes", "-flush-interval", "-checkpoint-interval", "-log-level", "-tls-cert", "-tls-key"} {
		if !strings.Contains(help, "  "+fl+" ") {
			t.Errorf("serve --help does not list %s:\n%s", fl, help)
		}
	}
	if !strings.Contains(help, "config file (TOML)") {
		t.Errorf("serve --help does not describe --config:\n%s", help)
	}
}
