package server

import (
	"strconv"

	"github.com/replikv/replikv/resp"
)

// reply accumulates the encoded replies of a client's commands until the
// client loop writes them out. Commands never write to the network
// themselves, so nothing blocks on a slow client while a command holds the
// store's locks (EXEC runs inside Store.Atomic).
type reply struct {
	b     []byte
	errs  int64       // error replies written, for total_error_replies
	codes *errorStats // counts them by code for INFO errorstats, if set
}

func (r *reply) ok()                 { r.b = append(r.b, "+OK\r\n"...) }
func (r *reply) simple(s string)     { r.b = resp.AppendSimple(r.b, s) }
func (r *reply) int(n int64)         { r.b = resp.AppendInt(r.b, n) }
func (r *reply) bulk(b []byte)       { r.b = resp.AppendBulk(r.b, b) }
func (r *reply) bulkString(s string) { r.b = resp.AppendBulkString(r.b, s) }
func (r *reply) bulkInt(n int64)     { r.b = resp.AppendBulkInt(r.b, n) }
func (r *reply) null()               { r.b = resp.AppendNull(r.b) }
func (r *reply) nullArray()          { r.b = resp.AppendNullArray(r.b) }
func (r *reply) array(n int)         { r.b = resp.AppendArrayLen(r.b, n) }

// bool replies :1 for true and :0 for false.
func (r *reply) bool(v bool) {
	if v {
		r.int(1)
	} else {
		r.int(0)
	}
}

// err writes an error reply; s starts with its code ("ERR ...",
// "WRONGPASS ...").
func (r *reply) err(s string) {
	r.errs++
	if r.codes != nil {
		r.codes.count(s)
	}
	r.b = resp.AppendError(r.b, s)
}

// Texts of the common Redis errors.
const (
	errSyntax     = "ERR syntax error"
	errNotInteger = "ERR value is not an integer or out of range"
	errNoAuth     = "NOAUTH Authentication required."
	errWrongPass  = "WRONGPASS invalid username-password pair or user is disabled."
	errOOM        = "OOM command not allowed when used memory > 'maxmemory'."
	errReadOnly   = "READONLY You can't write against a read only replica."
	errMasterDown = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
	errOverflow   = "ERR increment or decrement would overflow"
	errTooLarge   = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	errNoMulti    = "ERR Command not allowed inside a transaction"
	errExecAbort  = "EXECABORT Transaction discarded because of previous errors."
)

// wrongArgs is Redis's arity error for the command's full name, such as
// "get" or "client|kill".
func wrongArgs(fullname string) string {
	return "ERR wrong number of arguments for '" + fullname + "' command"
}

// invalidExpire is Redis's error for a bad expire time in a command.
func invalidExpire(fullname string) string {
	return "ERR invalid expire time in '" + fullname + "' command"
}

// parseInt parses a Redis integer argument: base 10, optional sign, no
// spaces, fitting an int64 (Redis string2ll).
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if b[0] == '+' || (len(b) > 1 && b[0] == '0') || (len(b) > 1 && b[0] == '-' && b[1] == '0') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}
