package main

import (
	"context"
	"fmt"
	"time"
)

// s4: full sync of the reference dataset to new replica processes:
// replikv→replikv beside redis→redis, redis→replikv, and four replicas of
// one primary at once.
func s4() *scenario {
	return &scenario{
		id:    "S4",
		title: "full sync of the dataset (16-byte keys, 64-byte values) to new replicas, from REPLICAOF to synced with every key",
		run:   runS4,
		metrics: []metric{
			{key: "one", name: "1 replica (replikv→replikv | redis→redis)", unit: "s", target: "≤0.2× Redis", pass: atMostRedis(0.2)},
			{key: "fromRedis", redisKey: "one", name: "redis→replikv (Redis: redis→redis)", unit: "s"},
			{key: "four", name: "4 replicas at once", unit: "s", target: "≤0.2× Redis", pass: atMostRedis(0.2)},
		},
	}
}

func runS4(e *env, sys system) (values, error) {
	p, err := e.start(sys)
	if err != nil {
		return nil, err
	}
	defer e.stop(p)
	if err := fill(p, e.bigKeys); err != nil {
		return nil, err
	}
	v := values{}
	if v["one"], err = e.fullSync(p, sys, 1); err != nil {
		return nil, err
	}
	if v["four"], err = e.fullSync(p, sys, 4); err != nil {
		return nil, err
	}
	if sys == sysReplikv {
		rp, err := e.start(sysRedis)
		if err != nil {
			return nil, err
		}
		defer e.stop(rp)
		if err := fill(rp, e.bigKeys); err != nil {
			return nil, err
		}
		if v["fromRedis"], err = e.fullSync(rp, sysReplikv, 1); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// fullSync starts n empty replica processes of sys, points them at p at
// once and returns the seconds until all have synced and hold every key.
// A Redis primary is told to start its (diskless) transfer as soon as the
// n replicas are there rather than after its default 5 s wait.
func (e *env) fullSync(p *node, sys system, n int) (float64, error) {
	ctx := context.Background()
	if p.sys == sysRedis {
		delay := "0"
		if n > 1 {
			delay = "60" // repl-diskless-sync-max-replicas starts it when all n are in
		}
		for _, kv := range [][2]string{{"repl-diskless-sync-delay", delay}, {"repl-diskless-sync-max-replicas", fmt.Sprint(n)}} {
			if err := p.client.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
				return 0, err
			}
		}
	}
	keys, err := p.client.DBSize(ctx).Result()
	if err != nil {
		return 0, err
	}
	var rs []*node
	defer func() { e.stopAll(rs...) }()
	for range n {
		r, err := e.start(sys)
		if err != nil {
			return 0, err
		}
		rs = append(rs, r)
	}
	start := time.Now()
	for _, r := range rs {
		if err := r.replicaOf(p); err != nil {
			return 0, err
		}
	}
	for _, r := range rs {
		err := poll(5*time.Minute, time.Millisecond, r.name+" full sync", func() (bool, error) {
			ok, err := r.synced()
			if !ok || err != nil {
				return false, err
			}
			got, err := r.client.DBSize(ctx).Result()
			if loading(err) {
				return false, nil
			}
			return got == keys, err
		})
		if err != nil {
			return 0, err
		}
	}
	return time.Since(start).Seconds(), nil
}
