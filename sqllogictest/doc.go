// Package sqllogictest runs sqllogictest files against lakesql: the public
// corpus and lakesql's own tests of versions, branches and upserts.
package sqllogictest
