package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // --debug-addr
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/store/storeuri"
)

const serveUsage = `Usage: lakesql serve [flags]

Starts the MySQL-protocol server over a data location. Any MySQL client
connects to it; every database is a commit log with versions, branches and
tags (see README.md).

Example:
  lakesql serve                                  # 127.0.0.1:3306, data in ./lakesql-data
  mysql -h127.0.0.1 -P3306 -uroot -e 'CREATE DATABASE shop'
  lakesql serve --data s3://bucket/prefix?endpoint=http://127.0.0.1:9000 --listen 127.0.0.1:3307

Without users configured, root with an empty password may connect, so the
server only listens on a loopback address. Users created with CREATE USER and
GRANT are kept in the data location and turn authentication on at the next
start; then any address may be used. With --tls-cert and --tls-key clients may
connect with TLS (and caching_sha2_password).

--config FILE reads the settings of these flags from a TOML file (flags given
on the command line win) and the credentials of virtual files' containers:

  listen = "127.0.0.1:3306"
  data = "./lakesql-data"
  flush_interval = "1m"
  [containers.archive]            # CALL lakesql_container_create('archive', ...)
  access_key_id = "..."
  secret_access_key = "..."
  [virtual]                       # for containers without their own
  access_key_id = "..."
  secret_access_key = "..."

Containers' credentials may also come from the environment:
LAKESQL_CONTAINER_<NAME>_ACCESS_KEY_ID and _SECRET_ACCESS_KEY (LAKESQL_VIRTUAL_*
for every container). See docs/virtual-files.md.

Flags:
`

// serveFlags are the server's settings.
type serveFlags struct {
	listen        string
	data          string
	flushBytes    int64
	pageCache     int64
	warmCache     bool
	busyPoll      time.Duration
	flushInterval time.Duration
	checkpoint    int64
	logLevel      string
	tlsCert       string
	tlsKey        string
	debugAddr     string
	config        string
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	fs.StringVar(&f.listen, "listen", "127.0.0.1:3306", "address to listen on (host:port)")
	fs.StringVar(&f.data, "data", "./lakesql-data", "data location: a directory, file://..., or s3://bucket/prefix?endpoint=...")
	fs.Int64Var(&f.flushBytes, "memtable-bytes", 32<<20, "flush a branch's MemTable to Parquet when it holds this many bytes")
	fs.Int64Var(&f.pageCache, "page-cache-bytes", 1<<30, "bound the cache of decoded Parquet pages that lookups read through, per database (a bound, not an allocation)")
	fs.BoolVar(&f.warmCache, "warm-cache", true, "decode the files each flush, merge and bulk load writes into the page cache in the background, as a buffer pool keeps pages it wrote; on S3 that reads each new file once more (--warm-cache=false: only reads fill the cache)")
	fs.DurationVar(&f.flushInterval, "flush-interval", time.Minute, "also flush MemTables this often (0: only by size and on versions)")
	fs.Int64Var(&f.checkpoint, "checkpoint-interval", 100, "write a log checkpoint every this many entries")
	fs.DurationVar(&f.busyPoll, "busy-poll", 50*time.Microsecond, "after answering a statement, poll the connection this long for the next one before sleeping: lower latency for clients that send statements back to back, for up to that much CPU per statement (0: off)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate file (PEM); with --tls-key enables TLS")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.StringVar(&f.debugAddr, "debug-addr", "", "serve Go's pprof profiles on this loopback address (e.g. 127.0.0.1:6060)")
	fs.StringVar(&f.config, "config", "", "config file (TOML): the settings of these flags, and credentials for virtual files' containers (see README.md); flags win")
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var fc *fileConfig
	if f.config != "" {
		var err error
		if fc, err = loadConfig(f.config); err == nil {
			err = applyConfig(fs, &f, fc)
		}
		if err != nil {
			fmt.Fprintf(stderr, "lakesql serve: %v\n", err)
			return 2
		}
	}
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "lakesql serve: %v\n", err)
		return 2
	}
	if err := runServer(f, fc, log); err != nil {
		log.Error("server failed", "err", err)
		fmt.Fprintf(stderr, "lakesql serve: %v\n", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// loopback reports whether addr's host is a loopback address.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redact hides credentials in a data location for logs.
func redact(uri string) string {
	if i := strings.Index(uri, "?"); i >= 0 {
		q := uri[i+1:]
		var kept []string
		for _, kv := range strings.Split(q, "&") {
			k, _, _ := strings.Cut(kv, "=")
			lk := strings.ToLower(k)
			if strings.Contains(lk, "secret") || strings.Contains(lk, "key") || strings.Contains(lk, "token") || strings.Contains(lk, "password") {
				kv = k + "=REDACTED"
			}
			kept = append(kept, kv)
		}
		uri = uri[:i+1] + strings.Join(kept, "&")
	}
	if at := strings.Index(uri, "@"); at >= 0 {
		if scheme := strings.Index(uri, "://"); scheme >= 0 && scheme < at {
			uri = uri[:scheme+3] + "REDACTED" + uri[at:]
		}
	}
	return uri
}

func runServer(f serveFlags, fc *fileConfig, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := storeuri.Open(ctx, f.data)
	if err != nil {
		return fmt.Errorf("open data location %s: %w", redact(f.data), err)
	}
	cfg := lsql.Config{Store: st, Logger: log, FlushInterval: f.flushInterval, External: externalResolver(ctx, f.data, fc)}
	cfg.Writer.FlushBytes = f.flushBytes
	cfg.PageCacheBytes = f.pageCache
	cfg.Writer.WarmCache = f.warmCache
	cfg.Txn.CheckpointInterval = f.checkpoint
	p := lsql.NewProvider(cfg)
	e := lsql.NewEngine(p)
	users, err := lsql.Users(ctx, p, e)
	if err != nil {
		p.Close(context.Background())
		return err
	}
	if users == 0 && !loopback(f.listen) {
		p.Close(context.Background())
		return fmt.Errorf("refusing to listen on %s: no users are configured, so anyone could connect as root without a password; listen on a loopback address (127.0.0.1:3306), create users there (CREATE USER ...; GRANT ...), then restart on %s", f.listen, f.listen)
	}
	if users == 0 {
		log.Warn("no users configured: any client on this machine connects as root without a password (CREATE USER enables authentication at the next start)")
	} else {
		log.Info("authentication on", "users", users)
	}
	scfg := lsql.ServerConfig{Address: f.listen, BusyPoll: f.busyPoll}
	if f.tlsCert != "" || f.tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		scfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv, err := lsql.NewServer(p, e, scfg)
	if err != nil {
		return err
	}
	if f.debugAddr != "" {
		if !loopback(f.debugAddr) {
			return fmt.Errorf("--debug-addr %s: profiles are served on loopback addresses only", f.debugAddr)
		}
		go func() {
			log.Info("profiles served", "addr", "http://"+f.debugAddr+"/debug/pprof/")
			if err := http.ListenAndServe(f.debugAddr, nil); err != nil {
				log.Warn("profile server stopped", "err", err)
			}
		}()
	}
	log.Info("lakesql serving", "version", version, "listen", f.listen, "data", redact(f.data), "tls", scfg.TLS != nil)
	done := make(chan error, 1)
	go func() { done <- srv.Start() }()
	select {
	case err := <-done:
		p.Close(context.Background())
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: closing connections, flushing MemTables, releasing leases")
	srv.Close()
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Close(cctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
