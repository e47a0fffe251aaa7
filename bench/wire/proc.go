package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// startTimeout bounds the time from starting a server to its first
// successful login.
const startTimeout = 30 * time.Second

// A child is a server process started by this command, its output going to
// a log file. Whoever starts it calls stop.
type child struct {
	cmd  *exec.Cmd
	log  string        // the file that collects stdout and stderr
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result; read it after done is closed
}

// startChild starts bin in its own process group, so that the terminal's
// Ctrl-C reaches only this command, which then stops the child in order.
func startChild(logPath, bin string, args ...string) (*child, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	c := &child{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	return c, nil
}

// stop sends SIGTERM, waits up to grace for the process to exit and kills it
// after that.
func (c *child) stop(grace time.Duration) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(grace):
		c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not stop within %v and was killed", c.cmd.Path, grace)
	}
}

// tail returns the last lines of the child's output, on one line.
func (c *child) tail() string {
	b, _ := os.ReadFile(c.log)
	return lastLines(b)
}

// lastLines returns the last lines of a program's output, on one line.
func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	s := strings.Join(lines[max(0, len(lines)-3):], " | ")
	if len(s) > 400 {
		s = "..." + s[len(s)-400:]
	}
	return s
}

// waitReady logs in to login until it succeeds, the child exits or
// startTimeout passes.
func waitReady(ctx context.Context, c *child, login *mysql.Config) error {
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-c.done:
			return fmt.Errorf("exited (%v): %s", c.err, c.tail())
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := ping(pctx, login)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no login within %v: %v", startTimeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func ping(ctx context.Context, login *mysql.Config) error {
	db, err := open(login, "")
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// open returns a pool of one connection to database dbName (none if empty).
// Parameters of plain queries are interpolated by the client; Prepare still
// makes a server-side prepared statement.
func open(login *mysql.Config, dbName string) (*sql.DB, error) {
	cfg := login.Clone()
	cfg.DBName = dbName
	cfg.InterpolateParams = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	return db, nil
}

// tcpLogin returns the login for user at 127.0.0.1:port.
func tcpLogin(user, password string, port int) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = user, password
	cfg.Net, cfg.Addr = "tcp", fmt.Sprintf("127.0.0.1:%d", port)
	return cfg
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
