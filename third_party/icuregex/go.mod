module github.com/lakesql/lakesql/third_party/icuregex

go 1.26.0

require (
	github.com/dlclark/regexp2 v1.12.0
	gopkg.in/src-d/go-errors.v1 v1.0.0
)

require (
	github.com/pkg/errors v0.9.1 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
)
