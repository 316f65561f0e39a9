package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// p1: persistence (issue 17): SAVE of the reference dataset to dump.rdb,
// timed by the client, and the load of that file by a server restarted on
// the same directory, timed from the process's start to its first PONG
// (Redis answers -LOADING until it has loaded; replikv does not serve
// until New has loaded), and as each server logs it: Redis's "DB loaded
// from disk: X seconds", replikv's "snapshot loaded … seconds=X" (the
// issue's measure: the load itself, without the process's start).
func p1() *scenario {
	return &scenario{
		id:    "P1",
		title: "persistence: SAVE of the dataset (16-byte keys, 64-byte values), and the load of its file by a restarted server (process start → first PONG, DBSIZE checked)",
		run:   runP1,
		metrics: []metric{
			{key: "save", name: "SAVE", unit: "s", target: "≤0.5× Redis", pass: atMostRedis(0.5)},
			{key: "saveMBs", name: "SAVE throughput", unit: "MiB/s"},
			{key: "loadLog", name: "load at restart, from its log", unit: "s", target: "≤0.5× Redis", pass: atMostRedis(0.5)},
			{key: "load", name: "load at restart (start → PONG)", unit: "s"},
			{key: "loadMBs", name: "load throughput", unit: "MiB/s"},
			{key: "file", name: "file size", unit: "MiB"},
		},
	}
}

// redisLoaded and replikvLoaded match each server's log line of a load
// at start.
var (
	redisLoaded   = regexp.MustCompile(`DB loaded from disk: ([0-9.]+) seconds`)
	replikvLoaded = regexp.MustCompile(`msg="snapshot loaded".* seconds=([0-9.]+)`)
)

func runP1(e *env, sys system) (values, error) {
	ctx := context.Background()
	extra := []string{"dbfilename", "dump.rdb"}
	n, err := e.start(sys, extra...)
	if err != nil {
		return nil, err
	}
	defer func() { e.stop(n) }()
	if err := fill(n, e.bigKeys); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := n.client.Save(ctx).Err(); err != nil {
		return nil, fmt.Errorf("%s: SAVE: %w", n.name, err)
	}
	save := time.Since(start).Seconds()
	path := filepath.Join(n.dir, "dump.rdb")
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: after SAVE: %w", n.name, err)
	}
	size := mb(fi.Size())

	// The restart: the first process is killed (no save on the way out:
	// Redis runs with --save "", replikv without save points), the second
	// loads the file the SAVE wrote.
	e.stop(n)
	n, err = e.startIn(sys, n.name, n.dir, extra...)
	if err != nil {
		return nil, err
	}
	load := n.startup.Seconds()
	got, err := n.client.DBSize(ctx).Result()
	if err != nil || got != int64(e.bigKeys) {
		return nil, fmt.Errorf("%s: DBSIZE %d after the restart, want %d (%v)", n.name, got, e.bigKeys, err)
	}
	re := replikvLoaded
	if sys == sysRedis {
		re = redisLoaded
	}
	b, err := os.ReadFile(filepath.Join(n.dir, "log"))
	if err != nil {
		return nil, err
	}
	m := re.FindSubmatch(b)
	if m == nil {
		return nil, fmt.Errorf("%s: no load duration in its log", n.name)
	}
	loadLog, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return nil, fmt.Errorf("%s: load duration %q in its log: %w", n.name, m[1], err)
	}
	loadLog = max(loadLog, 0.001) // a log's millisecond resolution, never 0
	e.logf("P1: %s: start → PONG %.3f s; its log: %.3f s", n.name, load, loadLog)
	return values{"save": save, "saveMBs": size / save, "loadLog": loadLog, "load": load, "loadMBs": size / loadLog, "file": size}, nil
}
