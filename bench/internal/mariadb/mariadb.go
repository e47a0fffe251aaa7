package mariadb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/lakesql/lakesql/bench/internal/mysqlproc"
)

// config is the server's whole configuration (--defaults-file: no other
// option file is read): the folder, the port, then extra lines.
const config = `[mysqld]
datadir=%[1]s/data
socket=%[1]s/mysqld.sock
pid-file=%[1]s/mysqld.pid
init-file=%[1]s/init.sql
port=%[2]d
bind-address=127.0.0.1
skip-name-resolve
%[3]s
`

// initSQL creates the user that benchmarks log in with over TCP (root
// logs in only through the socket).
const initSQL = `CREATE USER IF NOT EXISTS 'bench'@'127.0.0.1' IDENTIFIED BY 'bench';
GRANT ALL PRIVILEGES ON *.* TO 'bench'@'127.0.0.1';
`

// stopGrace is how long Stop waits for the server to shut down (InnoDB
// may flush its buffer pool) before killing it.
const stopGrace = 2 * time.Minute

// Options configure a server.
type Options struct {
	// Config holds extra lines of the [mysqld] section, such as
	// "local-infile=1" or "innodb_buffer_pool_size=2G".
	Config []string
}

// A Server is a running mariadbd. Whoever starts it calls Stop.
type Server struct {
	// Login is the user bench at the server's loopback address, with no
	// database.
	Login *mysql.Config
	// Notes say what the reader of the figures should know: the version
	// and the durability settings in effect.
	Notes []string
	child *mysqlproc.Child
}

// Start bootstraps a data directory in dir with mariadb-install-db and
// starts mariadbd on a free loopback port.
func Start(ctx context.Context, dir string, o Options) (*Server, error) {
	server, err := lookPath("mariadbd")
	if err != nil {
		return nil, err
	}
	installDB, err := lookPath("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	port, err := mysqlproc.FreePort()
	if err != nil {
		return nil, err
	}
	extra := slices.Clone(o.Config)
	if os.Geteuid() == 0 {
		extra = append(extra, "user=mysql")
		if err := chownTree(dir, "mysql"); err != nil {
			return nil, err
		}
	}
	cnf := filepath.Join(dir, "my.cnf")
	if err := os.WriteFile(cnf, fmt.Appendf(nil, config, dir, port, strings.Join(extra, "\n")), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "init.sql"), []byte(initSQL), 0o644); err != nil {
		return nil, err
	}
	install := exec.CommandContext(ctx, installDB, "--defaults-file="+cnf, "--skip-test-db")
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %v: %s", err, mysqlproc.LastLines(out))
	}

	c, err := mysqlproc.Start(filepath.Join(dir, "mariadbd.log"), server, "--defaults-file="+cnf)
	if err != nil {
		return nil, err
	}
	s := &Server{Login: mysqlproc.TCPLogin("bench", "bench", port), child: c}
	if err := mysqlproc.WaitReady(ctx, c, s.Login); err != nil {
		s.Stop()
		return nil, err
	}
	if s.Notes, err = notes(ctx, s.Login, o.Config); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop shuts the server down.
func (s *Server) Stop() error { return s.child.Stop(stopGrace) }

// notes reports the server's version, the settings that Options.Config
// changed and the durability settings.
func notes(ctx context.Context, login *mysql.Config, extra []string) ([]string, error) {
	db, err := mysqlproc.Open(login, "")
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
	settings := "InnoDB with its default settings"
	if len(extra) > 0 {
		settings = "default settings but " + strings.Join(extra, ", ")
	}
	return []string{
		fmt.Sprintf("MariaDB %s, %s, started by this command", version, settings),
		fmt.Sprintf("durability: innodb_flush_log_at_trx_commit=%s (%s), innodb_doublewrite=%s, innodb_flush_method=%s, log_bin=%s, sync_binlog=%s; buffer pool %d MiB",
			flushAtCommit, durable, doublewrite, flushMethod, logBin, syncBinlog, pool>>20),
	}, nil
}

// lookPath finds a MariaDB program on PATH or in /usr/sbin, which is not
// on every user's PATH.
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
