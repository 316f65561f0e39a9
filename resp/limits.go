package resp

// Limits bounds what a Reader accepts from its peer. Every length the peer
// declares is checked against them before anything is allocated. A zero (or
// negative) field means its default.
type Limits struct {
	// MaxBulkLen is the longest bulk string accepted, in bytes.
	// Default DefaultMaxBulkLen (512 MiB, Redis's proto-max-bulk-len).
	MaxBulkLen int64

	// MaxArrayLen is the most elements accepted in one array: the number of
	// arguments of a command (inline ones included), or of elements of one
	// reply array.
	// Default DefaultMaxArrayLen (1<<20). Redis itself accepts up to
	// INT_MAX arguments; raise this if your commands carry more.
	MaxArrayLen int64

	// MaxInlineLen is the longest line accepted, in bytes without its line
	// terminator: an inline command, a line returned by ReadLine, a simple
	// string or error reply, and a '*' or '$' header line.
	// Default DefaultMaxInlineLen (64 KiB, Redis's PROTO_INLINE_MAX_SIZE).
	MaxInlineLen int
}

// Defaults used for the zero fields of Limits.
const (
	DefaultMaxBulkLen   = 512 << 20
	DefaultMaxArrayLen  = 1 << 20
	DefaultMaxInlineLen = 64 << 10
)

// Redis's limits for a client that has not authenticated yet, which
// ReadCommand applies after SetUnauthenticated(true) (below the Limits,
// which apply too): so few bytes per command that an unauthenticated
// peer cannot make the server buffer much.
const (
	// UnauthMaxArrayLen is the most arguments of an unauthenticated command.
	UnauthMaxArrayLen = 10
	// UnauthMaxBulkLen is the longest argument of an unauthenticated
	// command, in bytes.
	UnauthMaxBulkLen = 16384
)

// SetUnauthenticated tells ReadCommand whether its peer still has to
// authenticate. While it does, a command of more than UnauthMaxArrayLen
// arguments, or with an argument longer than UnauthMaxBulkLen bytes, is
// refused as soon as its header is read, with an ErrTooLarge error whose
// Reply is Redis's "unauthenticated multibulk length" or "unauthenticated
// bulk length". Larger ones than Redis itself takes by default (more than
// 2³¹-1 arguments, or a bulk over 512 MiB) and than the Limits get
// "invalid multibulk length" and "invalid bulk length", as from Redis: so
// a peer sees Redis's replies even where the Limits are lower than
// Redis's, as in Store.Serve's handshake. Inline commands are bounded by
// MaxInlineLen alone, as in Redis. Call it between commands, for example
// after a successful AUTH.
func (r *Reader) SetUnauthenticated(on bool) { r.unauth = on }

// MaxReplyDepth is how deeply arrays may nest in a reply read by ReadReply;
// a deeper one is an ErrTooLarge error.
const MaxReplyDepth = 32

// withDefaults returns l with every zero or negative field set to its default.
func (l Limits) withDefaults() Limits {
	if l.MaxBulkLen <= 0 {
		l.MaxBulkLen = DefaultMaxBulkLen
	}
	if l.MaxArrayLen <= 0 {
		l.MaxArrayLen = DefaultMaxArrayLen
	}
	if l.MaxInlineLen <= 0 {
		l.MaxInlineLen = DefaultMaxInlineLen
	}
	return l
}
