// Package mariadb starts a MariaDB server from Debian's packages for a
// benchmark (apt-get install -y mariadb-server mariadb-client):
//
//	Start: mariadb-install-db into dir ──► mariadbd --defaults-file=dir/my.cnf
//	       on a free loopback port ──► log in as bench/bench over TCP
//	       (a user the init file creates) ──► read version and settings
//	Stop:  SIGTERM, SIGKILL after two minutes
//
// The configuration file is the server's whole configuration: InnoDB keeps
// its defaults unless Options.Config adds lines. Run as root, the server
// runs as the user mysql, which then owns dir.
package mariadb
