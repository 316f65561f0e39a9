package resp

import (
	"bufio"
	"io"
)

// Writer writes RESP replies and commands to a buffered stream, for a
// server. Its methods encode like the Append functions; nothing reaches the
// underlying writer until the buffer fills or Flush is called. After a write
// error every later call returns that error (bufio.Writer's behaviour). A
// Writer is not safe for concurrent use.
//
// bufio.Writer's errors are sticky, so the methods that make several writes
// report the error of the last one, which includes any earlier failure.
type Writer struct {
	bw  *bufio.Writer
	hdr [32]byte // room for any header, so headers never allocate
}

// NewWriter returns a Writer on w. If w is already a *bufio.Writer it is
// used as is; otherwise w is wrapped in a 16 KiB bufio.Writer.
func NewWriter(w io.Writer) *Writer {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, 16<<10)
	}
	return &Writer{bw: bw}
}

// WriteArrayLen writes an array header "*<n>\r\n"; the n elements follow.
func (w *Writer) WriteArrayLen(n int) error {
	_, err := w.bw.Write(AppendArrayLen(w.hdr[:0], n))
	return err
}

// WriteBulk writes b as a bulk string. b is copied into the buffer (or,
// when large, written through), never into a temporary.
func (w *Writer) WriteBulk(b []byte) error {
	w.bw.Write(appendHeader(w.hdr[:0], '$', int64(len(b))))
	w.bw.Write(b)
	_, err := w.bw.WriteString("\r\n")
	return err
}

// WriteBulkString writes s as a bulk string.
func (w *Writer) WriteBulkString(s string) error {
	w.bw.Write(appendHeader(w.hdr[:0], '$', int64(len(s))))
	w.bw.WriteString(s)
	_, err := w.bw.WriteString("\r\n")
	return err
}

// WriteBulkInt writes the decimal text of n as a bulk string.
func (w *Writer) WriteBulkInt(n int64) error {
	_, err := w.bw.Write(AppendBulkInt(w.hdr[:0], n))
	return err
}

// WriteSimple writes s as a simple string "+<s>\r\n", CR and LF in s
// replaced by spaces.
func (w *Writer) WriteSimple(s string) error {
	_, err := w.bw.Write(AppendSimple(w.bw.AvailableBuffer(), s))
	return err
}

// WriteError writes s as an error reply "-<s>\r\n", CR and LF in s
// replaced by spaces. By convention s starts with an error code such as ERR.
func (w *Writer) WriteError(s string) error {
	_, err := w.bw.Write(AppendError(w.bw.AvailableBuffer(), s))
	return err
}

// WriteInt writes n as an integer reply ":<n>\r\n".
func (w *Writer) WriteInt(n int64) error {
	_, err := w.bw.Write(AppendInt(w.hdr[:0], n))
	return err
}

// WriteNull writes the null bulk string "$-1\r\n".
func (w *Writer) WriteNull() error {
	_, err := w.bw.WriteString("$-1\r\n")
	return err
}

// WriteNullArray writes the null array "*-1\r\n".
func (w *Writer) WriteNullArray() error {
	_, err := w.bw.WriteString("*-1\r\n")
	return err
}

// WriteCommand writes a command as an array of bulk strings.
func (w *Writer) WriteCommand(args ...[]byte) error {
	err := w.WriteArrayLen(len(args))
	for _, a := range args {
		err = w.WriteBulk(a)
	}
	return err
}

// Write writes p as is, already encoded (for example bytes from a backlog);
// it implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) { return w.bw.Write(p) }

// Flush writes the buffered data to the underlying writer.
func (w *Writer) Flush() error { return w.bw.Flush() }

// Buffered returns the number of bytes written but not yet flushed.
func (w *Writer) Buffered() int { return w.bw.Buffered() }
