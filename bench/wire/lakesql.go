package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// startLakesql builds cmd/lakesql from the repository at src into dir and
// runs `lakesql serve` with its data in dir, logging in as root with an
// empty password.
func startLakesql(ctx context.Context, dir, src string) (*instance, error) {
	bin := filepath.Join(dir, "lakesql")
	fmt.Fprintf(os.Stderr, "lakesql: building %s/cmd/lakesql\n", src)
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/lakesql")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/lakesql: %v: %s", err, lastLines(out))
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c, err := startChild(filepath.Join(dir, "lakesql.log"), bin,
		"serve", "--data", data, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	stop := func() error { return c.stop(time.Minute) }
	login := tcpLogin("root", "", port)
	if err := waitReady(ctx, c, login); err != nil {
		stop()
		return nil, err
	}
	return &instance{login: login, notes: []string{"`lakesql serve` built from " + src}, stop: stop}, nil
}
