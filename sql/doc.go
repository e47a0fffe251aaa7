// Package sql integrates lakesql with go-mysql-server: the database
// provider, databases and tables, sessions and transactions, AS OF, system
// tables, procedures, error translation and the server.
package sql
