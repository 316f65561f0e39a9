module github.com/replikv/replikv

go 1.25.0

require (
	github.com/cespare/xxhash/v2 v2.3.0
	github.com/google/go-cmp v0.7.0
	github.com/redis/go-redis/v9 v9.22.0
	golang.org/x/sync v0.22.0
)

require (
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
)
