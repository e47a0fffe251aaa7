package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mariadbConfig is the server's whole configuration (--defaults-file: no
// other option file is read). InnoDB keeps its defaults.
const mariadbConfig = `[mysqld]
datadir=%[1]s/data
socket=%[1]s/mysqld.sock
pid-file=%[1]s/mysqld.pid
init-file=%[1]s/init.sql
port=%[2]d
bind-address=127.0.0.1
skip-name-resolve
%[3]s
`

// mariadbInit creates the user that the benchmark logs in with over TCP
// (root logs in only through the socket).
const mariadbInit = `CREATE USER IF NOT EXISTS 'bench'@'127.0.0.1' IDENTIFIED BY 'bench';
GRANT ALL PRIVILEGES ON *.* TO 'bench'@'127.0.0.1';
`

// startMariaDB bootstraps a data directory in dir with mariadb-install-db
// and starts mariadbd on a free loopback port. Run as root, the server runs
// as the user mysql, which then owns dir.
func startMariaDB(ctx context.Context, dir string) (*instance, error) {
	server, err := lookPath("mariadbd")
	if err != nil {
		return nil, err
	}
	installDB, err := lookPath("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	var userLine string
	if os.Geteuid() == 0 {
		userLine = "user=mysql"
		if err := chownTree(dir, "mysql"); err != nil {
			return nil, err
		}
	}
	cnf := filepath.Join(dir, "my.cnf")
	if err := os.WriteFile(cnf, fmt.Appendf(nil, mariadbConfig, dir, port, userLine), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "init.sql"), []byte(mariadbInit), 0o644); err != nil {
		return nil, err
	}
	install := exec.CommandContext(ctx, installDB, "--defaults-file="+cnf, "--skip-test-db")
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %v: %s", err, lastLines(out))
	}

	c, err := startChild(filepath.Join(dir, "mariadbd.log"), server, "--defaults-file="+cnf)
	if err != nil {
		return nil, err
	}
	stop := func() error { return c.stop(2 * time.Minute) }
	login := tcpLogin("bench", "bench", port)
	if err := waitReady(ctx, c, login); err != nil {
		stop()
		return nil, err
	}
	notes, err := mariadbNotes(ctx, login)
	if err != nil {
		stop()
		return nil, err
	}
	return &instance{login: login, notes: notes, stop: stop}, nil
}

// mariadbNotes reports the server's version and durability settings.
func mariadbNotes(ctx context.Context, login *mysql.Config) ([]string, error) {
	db, err := open(login, "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var version, flushAtCommit, doublewrite, flushMethod, logBin, syncBinlog string
	var pool int64
	err = db.QueryRowContext(ctx, `SELECT @@version, @@innodb_flush_log_at_trx_commit, @@innodb_doublewrite,
		@@innodb_flush_method, @@log_bin, @@sync_binlog, @@innodb_buffer_pool_size`).
		Scan(&version, &flushAtCommit, &doublewrite, &flushMethod, &logBin, &syncBinlog, &pool)
	if err != nil {
		return nil, fmt.Errorf("reading settings: %w", err)
	}
	durable := "the redo log is written and flushed to disk at each commit"
	if flushAtCommit != "1" {
		durable = "NOT flushed at each commit: a crash can lose the last second of commits"
	}
	return []string{
		fmt.Sprintf("MariaDB %s, InnoDB with its default settings, started by this command", version),
		fmt.Sprintf("durability: innodb_flush_log_at_trx_commit=%s (%s), innodb_doublewrite=%s, innodb_flush_method=%s, log_bin=%s, sync_binlog=%s; buffer pool %d MiB",
			flushAtCommit, durable, doublewrite, flushMethod, logBin, syncBinlog, pool>>20),
	}, nil
}

// lookPath finds a MariaDB program on PATH or in /usr/sbin, which is not on
// every user's PATH.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath(filepath.Join("/usr/sbin", name)); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: apt-get install -y mariadb-server mariadb-client", name)
}

// chownTree gives dir and everything below it to the named user.
func chownTree(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(path, uid, gid)
	})
}
