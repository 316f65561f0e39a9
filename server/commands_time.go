package server

import "strconv"

// timeCmd is TIME: the server's clock as unix seconds and microseconds,
// two bulk strings.
func timeCmd(x *call) {
	now := x.s.now()
	x.r.array(2)
	x.r.bulkString(strconv.FormatInt(now.Unix(), 10))
	x.r.bulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
}
