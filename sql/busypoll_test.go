package sql

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TestPollConn checks that busy-polling reads behave as plain TCP reads:
// data sent at once and data sent after the polling gave up (the
// blocking read), a payload of many reads, a read deadline, several
// connections reading at once (more than maxPollers), and EOF.
func TestPollConn(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pl := pollListener{Listener: l, spin: 20 * time.Microsecond}
	defer pl.Close()
	pair := func() (net.Conn, net.Conn) {
		t.Helper()
		client, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server, err := pl.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := server.(*pollConn); !ok {
			t.Fatalf("accepted a %T, want a *pollConn", server)
		}
		return client, server
	}
	client, server := pair()
	defer client.Close()
	defer server.Close()
	read := func(c net.Conn, n int) []byte {
		t.Helper()
		buf := make([]byte, n)
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		return buf
	}
	client.Write([]byte("now"))
	if got := read(server, 3); string(got) != "now" {
		t.Fatalf("read %q", got)
	}
	go func() {
		time.Sleep(5 * time.Millisecond) // past the polling: the blocking read
		client.Write([]byte("later"))
	}()
	if got := read(server, 5); string(got) != "later" {
		t.Fatalf("read %q", got)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	go client.Write(big)
	if got := read(server, len(big)); !bytes.Equal(got, big) {
		t.Fatal("a 1 MiB payload read back different")
	}
	server.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	var ne net.Error
	if _, err := server.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	server.SetReadDeadline(time.Time{})

	// More connections reading at once than may poll.
	var wg sync.WaitGroup
	for i := range 4 {
		c, s := pair()
		defer c.Close()
		defer s.Close()
		wg.Go(func() {
			for j := range 200 {
				msg := []byte{byte(i), byte(j)}
				if _, err := c.Write(msg); err != nil {
					t.Error(err)
					return
				}
				buf := make([]byte, 2)
				if _, err := io.ReadFull(s, buf); err != nil || !bytes.Equal(buf, msg) {
					t.Errorf("connection %d message %d: %v %v", i, j, buf, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := pollers.Load(); n != 0 {
		t.Fatalf("%d pollers left counted", n)
	}

	client.Close()
	if n, err := server.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read after the client closed: %d, %v; want EOF", n, err)
	}
}
