package sql

import (
	"github.com/dolthub/go-mysql-server/sql/analyzer"
)

// registerRules adds lakesql's analyzer rules to the builder.
func registerRules(b *analyzer.Builder, p *Provider) *analyzer.Builder {
	return b
}
