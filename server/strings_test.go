package server

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
)

func TestStringCommands(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	c := n.client(t, nil)
	ctx := ctx(t)
	check := func(what string, got, want any) { t.Helper(); checkEq(t, what, got, want) }
	isNil := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, redis.Nil) {
			t.Errorf("%s: err = %v, want redis.Nil", what, err)
		}
	}

	check("SET", c.Set(ctx, "k", "v", 0).Val(), "OK")
	check("GET", c.Get(ctx, "k").Val(), "v")
	_, err := c.Get(ctx, "missing").Result()
	isNil("GET missing", err)

	// SET options.
	check("SET NX existing", c.SetNX(ctx, "k", "w", 0).Val(), false)
	check("SET XX missing", c.SetXX(ctx, "nx", "w", 0).Val(), false)
	check("SET XX existing", c.SetXX(ctx, "k", "w", 0).Val(), true)
	check("SET EX", c.Set(ctx, "ex", "1", 100*time.Second).Val(), "OK")
	check("TTL after EX", c.TTL(ctx, "ex").Val(), 100*time.Second)
	check("SET PX", c.Set(ctx, "px", "1", 1500*time.Millisecond).Val(), "OK")
	if ttl := c.PTTL(ctx, "px").Val(); ttl <= time.Second || ttl > 1500*time.Millisecond {
		t.Errorf("PTTL after PX 1500 = %v", ttl)
	}
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	check("SET EXAT", c.SetArgs(ctx, "exat", "1", redis.SetArgs{ExpireAt: at}).Val(), "OK")
	check("EXPIRETIME", c.ExpireTime(ctx, "exat").Val(), time.Duration(at.Unix())*time.Second)
	check("SET PXAT", c.Do(ctx, "SET", "pxat", "1", "PXAT", at.UnixMilli()+7).Val(), "OK")
	check("PEXPIRETIME", c.PExpireTime(ctx, "pxat").Val(), time.Duration(at.UnixMilli()+7)*time.Millisecond)
	check("SET KEEPTTL", c.SetArgs(ctx, "ex", "2", redis.SetArgs{KeepTTL: true}).Val(), "OK")
	check("TTL kept", c.TTL(ctx, "ex").Val(), 100*time.Second)
	check("SET GET", c.SetArgs(ctx, "k", "x", redis.SetArgs{Get: true}).Val(), "w")
	_, err = c.SetArgs(ctx, "newget", "x", redis.SetArgs{Get: true}).Result()
	isNil("SET GET of a new key", err)
	check("SET NX GET existing", c.Do(ctx, "SET", "k", "y", "NX", "GET").Val(), "x")
	check("value kept by NX", c.Get(ctx, "k").Val(), "x")
	check("SET removes TTL", c.Set(ctx, "ex", "3", 0).Val(), "OK")
	check("TTL removed", c.TTL(ctx, "ex").Val(), time.Duration(-1))
	check("SET EX EX (last wins)", c.Do(ctx, "SET", "k", "v", "EX", "10", "EX", "20").Val(), "OK")
	check("TTL", c.TTL(ctx, "k").Val(), 20*time.Second)

	// SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX.
	check("SETNX new", c.Do(ctx, "SETNX", "snx", "1").Val(), int64(1))
	check("SETNX existing", c.Do(ctx, "SETNX", "snx", "2").Val(), int64(0))
	check("SETEX", c.SetEx(ctx, "sex", "v", 50*time.Second).Val(), "OK")
	check("TTL SETEX", c.TTL(ctx, "sex").Val(), 50*time.Second)
	check("PSETEX", c.Do(ctx, "PSETEX", "psex", "5000", "v").Val(), "OK")
	check("TTL PSETEX", c.TTL(ctx, "psex").Val(), 5*time.Second)
	check("GETSET", c.GetSet(ctx, "snx", "3").Val(), "1")
	_, err = c.GetSet(ctx, "gs-new", "3").Result()
	isNil("GETSET new", err)
	check("GETSET removes TTL", c.GetSet(ctx, "sex", "w").Val(), "v")
	check("TTL after GETSET", c.TTL(ctx, "sex").Val(), time.Duration(-1))
	check("GETDEL", c.GetDel(ctx, "snx").Val(), "3")
	check("EXISTS after GETDEL", c.Exists(ctx, "snx").Val(), int64(0))
	_, err = c.GetDel(ctx, "snx").Result()
	isNil("GETDEL missing", err)
	check("GETEX no option", c.GetEx(ctx, "sex", 0).Val(), "w")
	check("GETEX EX", c.GetEx(ctx, "sex", 30*time.Second).Val(), "w")
	check("TTL after GETEX EX", c.TTL(ctx, "sex").Val(), 30*time.Second)
	check("GETEX PERSIST", c.Do(ctx, "GETEX", "sex", "PERSIST").Val(), "w")
	check("TTL after GETEX PERSIST", c.TTL(ctx, "sex").Val(), time.Duration(-1))
	check("GETEX PXAT", c.Do(ctx, "GETEX", "sex", "PXAT", at.UnixMilli()).Val(), "w")
	check("PEXPIRETIME after GETEX", c.PExpireTime(ctx, "sex").Val(), time.Duration(at.UnixMilli())*time.Millisecond)
	check("GETEX EXAT in the past", c.Do(ctx, "GETEX", "sex", "EXAT", "1").Val(), "w")
	check("deleted by GETEX EXAT past", c.Exists(ctx, "sex").Val(), int64(0))
	_, err = c.GetEx(ctx, "sex", time.Second).Result()
	isNil("GETEX missing", err)

	// MGET, MSET, MSETNX.
	check("MSET", c.MSet(ctx, "a", "1", "b", "2").Val(), "OK")
	check("MGET", c.MGet(ctx, "a", "nope", "b").Val(), []any{"1", nil, "2"})
	check("MSETNX with existing", c.MSetNX(ctx, "b", "x", "c", "3").Val(), false)
	check("MSETNX left c unset", c.Exists(ctx, "c").Val(), int64(0))
	check("MSETNX all new", c.MSetNX(ctx, "c", "3", "d", "4").Val(), true)
	check("MGET after MSETNX", c.MGet(ctx, "c", "d").Val(), []any{"3", "4"})

	// Counters.
	check("INCR new", c.Incr(ctx, "n").Val(), int64(1))
	check("INCRBY", c.IncrBy(ctx, "n", 41).Val(), int64(42))
	check("DECR", c.Decr(ctx, "n").Val(), int64(41))
	check("DECRBY", c.DecrBy(ctx, "n", 50).Val(), int64(-9))
	check("INCR not integer", c.Incr(ctx, "k").Err().Error(), "ERR value is not an integer or out of range")
	c.Set(ctx, "max", "9223372036854775807", 0)
	check("INCR overflow", c.Incr(ctx, "max").Err().Error(), "ERR increment or decrement would overflow")
	check("DECRBY min", c.Do(ctx, "DECRBY", "n", "-9223372036854775808").Err().Error(), "ERR decrement would overflow")
	check("INCRBY bad", c.Do(ctx, "INCRBY", "n", "1.5").Err().Error(), "ERR value is not an integer or out of range")

	// APPEND, STRLEN.
	check("APPEND new", c.Append(ctx, "s", "hello").Val(), int64(5))
	check("APPEND", c.Append(ctx, "s", " world").Val(), int64(11))
	check("STRLEN", c.StrLen(ctx, "s").Val(), int64(11))
	check("STRLEN missing", c.StrLen(ctx, "nope").Val(), int64(0))
	check("GET appended", c.Get(ctx, "s").Val(), "hello world")
}

// TestStringErrors checks the exact error replies of the string commands.
func TestStringErrors(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	r.expect([]exchange{
		{[]string{"GET"}, "-ERR wrong number of arguments for 'get' command"},
		{[]string{"SET", "a"}, "-ERR wrong number of arguments for 'set' command"},
		{[]string{"SET", "a", "b", "EX", "0"}, "-ERR invalid expire time in 'set' command"},
		{[]string{"SET", "a", "b", "EX", "abc"}, "-ERR value is not an integer or out of range"},
		{[]string{"SET", "a", "b", "NX", "XX"}, "-ERR syntax error"},
		{[]string{"SET", "a", "b", "EX", "10", "PX", "10"}, "-ERR syntax error"},
		{[]string{"SET", "a", "b", "KEEPTTL", "EX", "10"}, "-ERR syntax error"},
		{[]string{"SET", "a", "b", "EX"}, "-ERR syntax error"},
		{[]string{"SET", "a", "b", "PERSIST"}, "-ERR syntax error"},
		{[]string{"SET", "a", "b", "EX", "9223372036854775807"}, "-ERR invalid expire time in 'set' command"},
		{[]string{"SET", "a", "b", "PX", "9223372036854775807"}, "-ERR invalid expire time in 'set' command"},
		{[]string{"SETEX", "a", "0", "v"}, "-ERR invalid expire time in 'setex' command"},
		{[]string{"PSETEX", "a", "-5", "v"}, "-ERR invalid expire time in 'psetex' command"},
		{[]string{"SETEX", "a", "x", "v"}, "-ERR value is not an integer or out of range"},
		{[]string{"GETEX", "a", "PERSIST", "EX", "1"}, "-ERR syntax error"},
		{[]string{"GETEX", "a", "KEEPTTL"}, "-ERR syntax error"},
		{[]string{"SET", "a", "b"}, "+OK"},
		{[]string{"GETEX", "a", "EX", "0"}, "-ERR invalid expire time in 'getex' command"},
		{[]string{"GETEX", "nope", "EX", "0"}, "(nil)"},
		{[]string{"MSET", "a"}, "-ERR wrong number of arguments for 'mset' command"},
		{[]string{"MSET", "a", "b", "c"}, "-ERR wrong number of arguments for 'mset' command"},
		{[]string{"MSETNX", "a", "b", "c"}, "-ERR wrong number of arguments for 'msetnx' command"},
		{[]string{"SET", "a", "007"}, "+OK"},
		{[]string{"INCR", "a"}, "-ERR value is not an integer or out of range"},
		{[]string{"INCRBY", "n", "+1"}, "-ERR value is not an integer or out of range"},
		{[]string{"INCRBY", "n", "-0"}, "-ERR value is not an integer or out of range"},
		{[]string{"INCRBY", "n", "-1"}, ":-1"},
	})
}

// TestAppendStreamsSuffix is issue 9's defect 4 through the server: a
// 1-byte APPEND to a large value adds a few dozen bytes to the
// replication stream, not the value.
func TestAppendStreamsSuffix(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	if err := n.store.Set("big", make([]byte, 8<<20)); err != nil {
		t.Fatal(err)
	}
	_, before := n.store.Position()
	if got := n.raw(t).do("APPEND", "big", "x"); got != ":8388609" {
		t.Fatalf("APPEND = %s", got)
	}
	_, after := n.store.Position()
	t.Logf("APPEND of 1 byte to an 8 MiB value: %d bytes of stream", after-before)
	if after-before > 64 {
		t.Errorf("APPEND of 1 byte added %d bytes to the stream", after-before)
	}
}
