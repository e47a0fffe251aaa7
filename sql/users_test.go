package sql_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	gosql "database/sql"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/lakesql/lakesql/store/local"
)

// userDB opens a pool as user with password; tlsName is a go-sql-driver
// TLS config name or "".
func (s *testServer) userDB(user, password, dbName, tlsName string) *gosql.DB {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, password, "tcp", s.addr, dbName
	cfg.TLSConfig = tlsName
	cfg.AllowNativePasswords = true
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	db := gosql.OpenDB(c)
	s.t.Cleanup(func() { db.Close() })
	return db
}

// TestUsers: CREATE USER and GRANT persist in the store and turn
// authentication on at the next start: a bad password is 1045, a
// read-only user reads and is refused writes and writing procedures.
func TestUsers(t *testing.T) {
	dir := t.TempDir()
	st, _ := local.Open(dir)
	s := startServer(t, serverOpts{store: st, users: true})
	c := conn(t, s.db(""))
	mustExec(t, c, "CREATE DATABASE d")
	mustExec(t, c, "CREATE TABLE d.t (k INT PRIMARY KEY)")
	mustExec(t, c, "INSERT INTO d.t VALUES (1)")
	mustExec(t, c, "CREATE USER admin@'%' IDENTIFIED BY 'sesame'")
	mustExec(t, c, "GRANT ALL ON *.* TO admin@'%'")
	mustExec(t, c, "CREATE USER reader@'%' IDENTIFIED BY 'r3ad'")
	mustExec(t, c, "GRANT SELECT ON d.* TO reader@'%'")
	s.stop()
	s.stop = func() {}

	st2, _ := local.Open(dir)
	s2 := startServer(t, serverOpts{store: st2, users: true})
	ctx := context.Background()
	if err := s2.userDB("admin", "wrong", "d", "").PingContext(ctx); errCode(err) != 1045 {
		t.Fatalf("a bad password: %v (code %d), want 1045", err, errCode(err))
	}
	if err := s2.userDB("root", "", "d", "").PingContext(ctx); err == nil {
		t.Fatalf("root without a password was let in once users exist")
	}
	admin := conn(t, s2.userDB("admin", "sesame", "d", ""))
	mustExec(t, admin, "INSERT INTO t VALUES (2)")
	reader := conn(t, s2.userDB("reader", "r3ad", "d", ""))
	expectRows(t, reader, "SELECT k FROM t ORDER BY k", "1", "2")
	expectRows(t, reader, "SELECT k FROM `d/main`.t WHERE k = 2", "2")
	expectErr(t, reader, 1142, "INSERT INTO t VALUES (3)")
	expectErr(t, reader, 1142, "CALL lakesql_commit('no')")
	expectRows(t, admin, "SELECT COUNT(*) FROM t", "2")
}

// TestTLS: a client connects over TLS, with caching_sha2_password.
func TestTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lakesql-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	dir := t.TempDir()
	st, _ := local.Open(dir)
	s := startServer(t, serverOpts{store: st, users: true, tls: &tls.Config{Certificates: []tls.Certificate{cert}}})
	mustExec(t, conn(t, s.db("")), "CREATE USER sha@'%' IDENTIFIED WITH caching_sha2_password BY 'pw'")
	mustExec(t, conn(t, s.db("")), "GRANT ALL ON *.* TO sha@'%'")
	s.stop()
	s.stop = func() {}
	st2, _ := local.Open(dir)
	s2 := startServer(t, serverOpts{store: st2, users: true, tls: &tls.Config{Certificates: []tls.Certificate{cert}}})
	var handshakes atomic.Int32
	if err := mysql.RegisterTLSConfig("lakesql-test", &tls.Config{InsecureSkipVerify: true,
		VerifyConnection: func(tls.ConnectionState) error { handshakes.Add(1); return nil }}); err != nil {
		t.Fatal(err)
	}
	c := conn(t, s2.userDB("sha", "pw", "", "lakesql-test"))
	expectRows(t, c, "SELECT 1", "1")
	if handshakes.Load() == 0 {
		t.Fatalf("the connection did not use TLS")
	}
	// Without TLS, caching_sha2_password cannot complete.
	if err := s2.userDB("sha", "pw", "", "").PingContext(context.Background()); err == nil {
		t.Fatalf("caching_sha2_password without TLS was accepted")
	}
}
