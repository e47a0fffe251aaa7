// Package lint holds tests that keep the code base in shape: the import
// direction between packages of DESIGN.md section 6, and which packages may
// import the AWS SDK and go-mysql-server.
package lint
