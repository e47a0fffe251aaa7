package mysqlproc

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// A Child is a server process started by a benchmark, its output going to
// a log file. Whoever starts it calls Stop. Stop and Tail may be called
// from any goroutine.
type Child struct {
	cmd  *exec.Cmd
	log  string        // the file that collects stdout and stderr
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result; read it after done is closed
}

// Start starts bin with args in its own process group, its stdout and
// stderr going to the file logPath.
func Start(logPath, bin string, args ...string) (*Child, error) {
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
	c := &Child{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	return c, nil
}

// Stop sends SIGTERM, waits up to grace for the process to exit and kills
// it after that.
func (c *Child) Stop(grace time.Duration) error {
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

// Tail returns the last lines of the child's output, on one line.
func (c *Child) Tail() string {
	b, _ := os.ReadFile(c.log)
	return LastLines(b)
}

// LastLines returns the last lines of a program's output, on one line.
func LastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	s := strings.Join(lines[max(0, len(lines)-3):], " | ")
	if len(s) > 400 {
		s = "..." + s[len(s)-400:]
	}
	return s
}
