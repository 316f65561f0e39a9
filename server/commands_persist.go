package server

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/replikv/replikv"
)

// persistCommands are SAVE, BGSAVE, LASTSAVE, SHUTDOWN and ALLOWFULLSYNC:
// the store's snapshot on disk (replikv.Config.Dir). Those allowed in
// MULTI run outside EXEC's locks (fOutside): they take the store's.
func persistCommands() []*command {
	return []*command{
		cmd("save", 1, fNoMulti|fAdmin, 0, 0, 0, saveCmd),
		cmd("bgsave", -1, fAdmin|fOutside, 0, 0, 0, bgsaveCmd),
		cmd("lastsave", 1, fFast|fOutside, 0, 0, 0, func(x *call) {
			x.r.int(x.s.store.PersistenceInfo().LastSaveTime.Unix())
		}),
		cmd("shutdown", -1, fNoMulti|fAdmin, 0, 0, 0, shutdownCmd),
		cmd("allowfullsync", 1, fAdmin|fOutside, 0, 0, 0, func(x *call) {
			x.s.store.AllowFullSync()
			x.r.ok()
		}),
	}
}

// errNoDir answers SAVE and BGSAVE on a store without Config.Dir.
const errNoDir = "ERR persistence is off: no dir configured (start with --dir)"

// saveCmd is SAVE: a snapshot written now, the reply once it is on disk.
func saveCmd(x *call) {
	if x.s.store.SnapshotPath() == "" {
		x.r.err(errNoDir)
		return
	}
	switch err := x.s.store.Save(context.Background(), ""); {
	case err == nil:
		x.r.ok()
	case errors.Is(err, replikv.ErrSaveInProgress):
		x.r.err("ERR Background save already in progress")
	default:
		x.s.log.Error("SAVE failed", "err", err)
		x.r.err("ERR " + oneLine(err.Error()))
	}
}

// bgsaveCmd is BGSAVE [SCHEDULE]: a snapshot written in the background.
func bgsaveCmd(x *call) {
	if len(x.args) > 2 || len(x.args) == 2 && !strings.EqualFold(string(x.args[1]), "schedule") {
		x.r.err(errSyntax)
		return
	}
	if x.s.store.SnapshotPath() == "" {
		x.r.err(errNoDir)
		return
	}
	switch err := x.s.store.BackgroundSave(); {
	case err == nil:
		x.r.simple("Background saving started")
	case errors.Is(err, replikv.ErrSaveInProgress):
		// Redis 7.0 answers this also to BGSAVE SCHEDULE while an RDB
		// save runs (SCHEDULE only waits out an AOF rewrite, which
		// replikv has not); "scheduled" would promise a save that
		// nothing runs.
		x.r.err("ERR Background save already in progress")
	default:
		x.r.err("ERR " + oneLine(err.Error()))
	}
}

// shutdownCmd is SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]: handed to
// Config.Shutdown, which saves as asked and stops the process. On success
// the client gets no reply (its connection closes with the server).
func shutdownCmd(x *call) {
	save, nosave := false, false
	for _, a := range x.args[1:] {
		switch strings.ToLower(string(a)) {
		case "save":
			save = true
		case "nosave":
			nosave = true
		case "now", "force":
		default:
			x.r.err(errSyntax)
			return
		}
	}
	if save && nosave {
		x.r.err(errSyntax)
		return
	}
	if x.s.cfg.Shutdown == nil {
		x.r.err("ERR SHUTDOWN is not supported by this server")
		return
	}
	if err := x.s.cfg.Shutdown(save, nosave); err != nil {
		x.s.log.Error("SHUTDOWN failed", "err", err)
		x.r.err("ERR Errors trying to SHUTDOWN. Check logs.")
		return
	}
	x.c.quit = true
}

// FormatSavePoints writes save points as Redis's save setting: "<seconds>
// <changes>" pairs separated by spaces, "" for none.
func FormatSavePoints(ps []replikv.SavePoint) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, strconv.FormatInt(int64(p.After.Seconds()), 10), strconv.FormatInt(p.Changes, 10))
	}
	return strings.Join(parts, " ")
}

// ParseSavePoints reads Redis's save setting: "<seconds> <changes> …"
// pairs; "" means none.
func ParseSavePoints(s string) ([]replikv.SavePoint, error) {
	f := strings.Fields(s)
	if len(f)%2 != 0 {
		return nil, errors.New("save: want <seconds> <changes> pairs")
	}
	var out []replikv.SavePoint
	for i := 0; i < len(f); i += 2 {
		sec, err1 := strconv.ParseInt(f[i], 10, 32)
		ch, err2 := strconv.ParseInt(f[i+1], 10, 64)
		if err1 != nil || err2 != nil || sec < 1 || ch < 0 { // as Redis: seconds >= 1
			return nil, errors.New("save: invalid save point " + strconv.Quote(f[i]+" "+f[i+1]))
		}
		out = append(out, replikv.SavePoint{After: time.Duration(sec) * time.Second, Changes: ch})
	}
	return out, nil
}

// oneLine keeps an error message on one line, as RESP needs.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// infoPersistence prints Redis 7.0's persistence section, field for
// field: fork and AOF fields with the values of a server without them.
func (s *Server) infoPersistence(b *infoBuilder, loading bool) {
	pi := s.store.PersistenceInfo()
	b.section("Persistence")
	b.bool("loading", loading)
	for _, f := range []string{"async_loading", "current_cow_peak", "current_cow_size", "current_cow_size_age"} {
		b.field(f, "0")
	}
	b.field("current_fork_perc", "0.00")
	b.field("current_save_keys_processed", "0")
	b.field("current_save_keys_total", "0")
	b.field("rdb_changes_since_last_save", strconv.FormatInt(pi.ChangesSinceLastSave, 10))
	b.bool("rdb_bgsave_in_progress", pi.BgSaveInProgress)
	b.field("rdb_last_save_time", strconv.FormatInt(pi.LastSaveTime.Unix(), 10))
	status := "ok"
	if !pi.LastBgSaveOK {
		status = "err"
	}
	b.field("rdb_last_bgsave_status", status)
	last := int64(-1)
	if pi.Saves > 0 || !pi.LastBgSaveOK {
		last = int64(pi.LastBgSaveDuration.Seconds())
	}
	b.field("rdb_last_bgsave_time_sec", strconv.FormatInt(last, 10))
	cur := int64(-1)
	if !pi.CurrentBgSaveStart.IsZero() {
		cur = int64(s.now().Sub(pi.CurrentBgSaveStart).Seconds())
	}
	b.field("rdb_current_bgsave_time_sec", strconv.FormatInt(cur, 10))
	b.field("rdb_saves", strconv.FormatInt(pi.Saves, 10))
	b.field("rdb_last_cow_size", "0")
	b.field("rdb_last_load_keys_expired", "0")
	b.field("rdb_last_load_keys_loaded", strconv.Itoa(pi.LoadedKeys))
	b.field("aof_enabled", "0")
	b.field("aof_rewrite_in_progress", "0")
	b.field("aof_rewrite_scheduled", "0")
	b.field("aof_last_rewrite_time_sec", "-1")
	b.field("aof_current_rewrite_time_sec", "-1")
	b.field("aof_last_bgrewrite_status", "ok")
	b.field("aof_rewrites", "0")
	b.field("aof_rewrites_consecutive_failures", "0")
	b.field("aof_last_write_status", "ok")
	b.field("aof_last_cow_size", "0")
	b.field("module_fork_in_progress", "0")
	b.field("module_fork_last_cow_size", "0")
}
