package server

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/replikv/replikv"
)

func TestKeyCommands(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	c := n.client(t, nil)
	ctx := ctx(t)
	check := func(what string, got, want any) { t.Helper(); checkEq(t, what, got, want) }
	c.MSet(ctx, "a", "1", "b", "2", "c", "3")
	check("EXISTS counts repeats", c.Exists(ctx, "a", "a", "b", "nope").Val(), int64(3))
	check("TYPE string", c.Type(ctx, "a").Val(), "string")
	check("TYPE none", c.Type(ctx, "nope").Val(), "none")
	check("DEL", c.Del(ctx, "a", "b", "nope").Val(), int64(2))
	check("UNLINK", c.Unlink(ctx, "c", "c").Val(), int64(1))
	check("DBSIZE empty", c.DBSize(ctx).Val(), int64(0))

	// EXPIRE family.
	c.Set(ctx, "k", "v", 0)
	check("TTL no deadline", c.TTL(ctx, "k").Val(), time.Duration(-1))
	check("TTL missing", c.TTL(ctx, "nope").Val(), time.Duration(-2))
	check("PTTL missing", c.PTTL(ctx, "nope").Val(), time.Duration(-2))
	check("EXPIRETIME no deadline", c.ExpireTime(ctx, "k").Val(), time.Duration(-1))
	check("PEXPIRETIME missing", c.PExpireTime(ctx, "nope").Val(), time.Duration(-2))
	check("EXPIRE missing", c.Expire(ctx, "nope", time.Minute).Val(), false)
	check("EXPIRE XX without deadline", c.ExpireXX(ctx, "k", time.Minute).Val(), false)
	check("EXPIRE GT without deadline", c.ExpireGT(ctx, "k", time.Minute).Val(), false)
	check("EXPIRE NX", c.ExpireNX(ctx, "k", 100*time.Second).Val(), true)
	check("EXPIRE NX again", c.ExpireNX(ctx, "k", 50*time.Second).Val(), false)
	check("TTL", c.TTL(ctx, "k").Val(), 100*time.Second)
	check("EXPIRE GT smaller", c.ExpireGT(ctx, "k", 50*time.Second).Val(), false)
	check("EXPIRE LT smaller", c.ExpireLT(ctx, "k", 50*time.Second).Val(), true)
	check("TTL after LT", c.TTL(ctx, "k").Val(), 50*time.Second)
	check("EXPIRE GT larger", c.ExpireGT(ctx, "k", 200*time.Second).Val(), true)
	check("EXPIRE XX", c.ExpireXX(ctx, "k", 300*time.Second).Val(), true)
	check("PEXPIRE", c.PExpire(ctx, "k", 1500*time.Millisecond).Val(), true)
	if ttl := c.PTTL(ctx, "k").Val(); ttl <= time.Second || ttl > 1500*time.Millisecond {
		t.Errorf("PTTL after PEXPIRE 1500 = %v", ttl)
	}
	// PTTL is in (1000, 1500] ms here: TTL rounds it to 1 s, or 2 s in
	// the millisecond it is exactly 1500.
	if ttl := c.TTL(ctx, "k").Val(); ttl != time.Second && ttl != 2*time.Second {
		t.Errorf("TTL after PEXPIRE 1500 = %v, want 1s (or 2s at exactly 1500 ms)", ttl)
	}
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	check("EXPIREAT", c.ExpireAt(ctx, "k", at).Val(), true)
	check("EXPIRETIME", c.ExpireTime(ctx, "k").Val(), time.Duration(at.Unix())*time.Second)
	check("PEXPIREAT", c.Do(ctx, "PEXPIREAT", "k", at.UnixMilli()+5).Val(), int64(1))
	check("PEXPIRETIME", c.PExpireTime(ctx, "k").Val(), time.Duration(at.UnixMilli()+5)*time.Millisecond)
	check("EXPIRETIME rounds", c.Do(ctx, "EXPIRETIME", "k").Val(), at.Unix())
	check("PEXPIREAT LT no deadline counts as infinite", c.Do(ctx, "PEXPIREAT", "k", at.UnixMilli()+10, "LT").Val(), int64(0))
	check("PERSIST", c.Persist(ctx, "k").Val(), true)
	check("PERSIST again", c.Persist(ctx, "k").Val(), false)
	check("PERSIST missing", c.Persist(ctx, "nope").Val(), false)
	check("EXPIRE LT without deadline", c.ExpireLT(ctx, "k", time.Hour).Val(), true)
	check("EXPIRE in the past deletes", c.Expire(ctx, "k", -time.Second).Val(), true)
	check("deleted by EXPIRE", c.Exists(ctx, "k").Val(), int64(0))
	c.Set(ctx, "k", "v", 0)
	check("EXPIREAT in the past deletes", c.Do(ctx, "EXPIREAT", "k", "1").Val(), int64(1))
	check("deleted by EXPIREAT", c.Exists(ctx, "k").Val(), int64(0))

	// KEYS, SCAN, DBSIZE, FLUSHALL, FLUSHDB.
	var all []string
	for i := range 100 {
		k := "key:" + strconv.Itoa(i)
		all = append(all, k)
		c.Set(ctx, k, "v", 0)
	}
	c.Set(ctx, "other", "v", 0)
	check("DBSIZE", c.DBSize(ctx).Val(), int64(101))
	keys := c.Keys(ctx, "key:*").Val()
	slices.Sort(keys)
	slices.Sort(all)
	check("KEYS key:*", keys, all)
	check("KEYS key:1?", len(c.Keys(ctx, "key:1?").Val()), 10)
	check("KEYS [o]ther", c.Keys(ctx, "[o]ther").Val(), []string{"other"})
	var scanned []string
	cursor := uint64(0)
	for {
		ks, next, err := c.Scan(ctx, cursor, "key:*", 7).Result()
		if err != nil {
			t.Fatal(err)
		}
		scanned = append(scanned, ks...)
		if cursor = next; cursor == 0 {
			break
		}
	}
	slices.Sort(scanned)
	check("SCAN MATCH key:*", scanned, all)
	cursor, scanned = 0, nil
	for {
		ks, next, err := c.ScanType(ctx, cursor, "", 1000, "string").Result()
		if err != nil {
			t.Fatal(err)
		}
		scanned = append(scanned, ks...)
		if cursor = next; cursor == 0 {
			break
		}
	}
	check("SCAN TYPE string", len(scanned), 101)
	ks, _, _ := c.ScanType(ctx, 0, "", 1000000, "list").Result()
	check("SCAN TYPE list", len(ks), 0)
	check("FLUSHDB", c.FlushDB(ctx).Val(), "OK")
	check("DBSIZE after FLUSHDB", c.DBSize(ctx).Val(), int64(0))
	c.Set(ctx, "x", "1", 0)
	check("FLUSHALL ASYNC", c.FlushAllAsync(ctx).Val(), "OK")
	check("KEYS after FLUSHALL", c.Keys(ctx, "*").Val(), []string{})
}

func TestKeyErrors(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	r.expect([]exchange{
		{[]string{"SET", "k", "v"}, "+OK"},
		{[]string{"EXPIRE", "k", "10", "NX", "XX"}, "-ERR NX and XX, GT or LT options at the same time are not compatible"},
		{[]string{"EXPIRE", "k", "10", "GT", "LT"}, "-ERR GT and LT options at the same time are not compatible"},
		{[]string{"EXPIRE", "k", "10", "foo"}, "-ERR Unsupported option foo"},
		{[]string{"EXPIRE", "k", "abc", "foo"}, "-ERR Unsupported option foo"},
		{[]string{"EXPIRE", "k", "abc"}, "-ERR value is not an integer or out of range"},
		{[]string{"EXPIRE", "k", "9223372036854775807"}, "-ERR invalid expire time in 'expire' command"},
		{[]string{"PEXPIRE", "k", "9223372036854775807"}, "-ERR invalid expire time in 'pexpire' command"},
		{[]string{"EXPIREAT", "k", "-9223372036854775808"}, "-ERR invalid expire time in 'expireat' command"},
		{[]string{"EXPIRE"}, "-ERR wrong number of arguments for 'expire' command"},
		{[]string{"TTL", "a", "b"}, "-ERR wrong number of arguments for 'ttl' command"},
		{[]string{"SCAN", "abc"}, "-ERR invalid cursor"},
		{[]string{"SCAN", "0", "COUNT", "0"}, "-ERR syntax error"},
		{[]string{"SCAN", "0", "COUNT", "x"}, "-ERR value is not an integer or out of range"},
		{[]string{"SCAN", "0", "MATCH"}, "-ERR syntax error"},
		{[]string{"SCAN", "0", "foo", "1"}, "-ERR syntax error"},
		{[]string{"FLUSHALL", "foo"}, "-ERR syntax error"},
		{[]string{"FLUSHDB", "SYNC"}, "+OK"},
		{[]string{"DBSIZE", "x"}, "-ERR wrong number of arguments for 'dbsize' command"},
	})
}
