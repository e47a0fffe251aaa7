package main

import (
	"context"

	"github.com/lakesql/lakesql/bench/internal/mariadb"
)

// startMariaDB starts MariaDB with InnoDB's defaults in dir (see package
// mariadb).
func startMariaDB(ctx context.Context, dir string) (*instance, error) {
	s, err := mariadb.Start(ctx, dir, mariadb.Options{})
	if err != nil {
		return nil, err
	}
	return &instance{login: s.Login, notes: s.Notes, stop: s.Stop}, nil
}
