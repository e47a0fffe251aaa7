//go:build linux

package lease

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the clock tick Linux uses for times in /proc (USER_HZ), 100 on
// every mainstream architecture.
const userHZ = 100

// Self returns this process as a lease holder, with a new random ID: two
// calls are two holders. Fields that /proc cannot give stay empty.
func Self() Holder {
	h := Holder{PID: os.Getpid(), ID: newID()}
	h.Host, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		h.BootID = strings.TrimSpace(string(b))
	}
	h.PIDNamespace, _ = os.Readlink("/proc/self/ns/pid")
	if st, err := readProcStat("self"); err == nil {
		h.StartTicks = st.startTicks
		if boot, err := bootTime(); err == nil {
			h.Start = boot.Add(time.Duration(st.startTicks) * (time.Second / userHZ)).UTC()
		}
	}
	return h
}

// processGone reports whether the process h names, on this host, has ended:
// its pid does not exist, is a zombie, or belongs to a process that started
// at another time (the pid was reused). When it cannot tell, it says no.
func processGone(h Holder) bool {
	if h.PID <= 0 {
		return false
	}
	if errors.Is(syscall.Kill(h.PID, 0), syscall.ESRCH) {
		return true
	}
	// The pid exists (or we may not signal it). Is it still the holder?
	st, err := readProcStat(strconv.Itoa(h.PID))
	if err != nil {
		// It may have ended in between; /proc may also hide it.
		return errors.Is(syscall.Kill(h.PID, 0), syscall.ESRCH)
	}
	if st.state == 'Z' || st.state == 'X' {
		return true
	}
	return h.StartTicks != 0 && st.startTicks != h.StartTicks
}

type procStat struct {
	state      byte
	startTicks uint64
}

// readProcStat reads /proc/<pid>/stat: the state (field 3) and the start
// time (field 22). The command name (field 2) is in parentheses and may
// hold spaces and parentheses, so fields are counted from the last ')'.
func readProcStat(pid string) (procStat, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("lease: /proc/%s/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("lease: /proc/%s/stat: %d fields", pid, len(f)+2)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("lease: /proc/%s/stat: start time: %v", pid, err)
	}
	return procStat{state: f[0][0], startTicks: start}, nil
}

// bootTime is the "btime" line of /proc/stat.
func bootTime() (time.Time, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("lease: /proc/stat btime: %v", err)
			}
			return time.Unix(sec, 0), nil
		}
	}
	return time.Time{}, errors.New("lease: /proc/stat has no btime")
}
