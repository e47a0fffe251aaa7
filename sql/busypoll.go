package sql

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// Busy polling of client connections. A client in a request-response loop
// (point lookups, small upserts) sends its next statement a few tens of
// microseconds after it reads an answer. A goroutine that reads an empty
// socket parks on Go's network poller, and waking it again when the
// statement arrives costs an epoll wake-up and often a thread wake-up: on
// a virtual machine, a good part of a point lookup's round trip. So after
// answering, a connection first polls its socket with non-blocking reads
// for up to the configured time (ServerConfig.BusyPoll), and parks only
// when nothing came. At most maxPollers connections poll at once, so many
// idle connections cost nothing and busy ones take at most that many
// cores' worth of polling.

// maxPollers bounds the connections busy polling at once.
const maxPollers = 1

var pollers atomic.Int32

// pollListener wraps the accepted TCP connections in pollConns.
type pollListener struct {
	net.Listener
	spin time.Duration
}

func (l pollListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c, nil
	}
	return &pollConn{TCPConn: tc, raw: raw, spin: l.spin}, nil
}

// pollConn is a TCP connection whose reads busy-poll before they park.
type pollConn struct {
	*net.TCPConn
	raw  syscall.RawConn
	spin time.Duration
}

func (c *pollConn) Read(p []byte) (int, error) {
	if len(p) == 0 || pollers.Add(1) > maxPollers {
		pollers.Add(-1)
		return c.TCPConn.Read(p)
	}
	n, err, done := c.poll(p)
	pollers.Add(-1)
	if done {
		return n, err
	}
	return c.TCPConn.Read(p)
}

// poll reads p without blocking until data comes or the spin time is
// over (done=false: read the blocking way).
func (c *pollConn) poll(p []byte) (n int, err error, done bool) {
	var deadline time.Time
	for {
		var errno error
		if rerr := c.raw.Read(func(fd uintptr) bool {
			n, errno = syscall.Read(int(fd), p)
			return true // never wait here
		}); rerr != nil {
			return 0, rerr, true
		}
		switch {
		case errno == nil && n > 0:
			return n, nil, true
		case errno == nil:
			return 0, io.EOF, true
		case errors.Is(errno, syscall.EINTR):
			continue
		case !errors.Is(errno, syscall.EAGAIN):
			return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", errno)}, true
		}
		// Let another thread that wants this CPU (often the client, woken
		// by the answer just written) run first.
		syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(c.spin)
		} else if now.After(deadline) {
			return 0, nil, false
		}
	}
}
