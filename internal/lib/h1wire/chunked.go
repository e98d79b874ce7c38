package h1wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrMalformed is a response that does not follow HTTP/1.1's syntax.
var ErrMalformed = errors.New("malformed HTTP response")

// maxChunkLine bounds a chunk-size line or a trailer line (RFC 9112 sets no
// limit; net/http allows 4 KiB for a chunk line).
const maxChunkLine = 4 << 10

// ReadChunked reads a chunked body from br (RFC 9112 §7.1): chunk-size
// lines (extensions ignored), each chunk's data followed by CRLF, the last
// chunk, trailers up to the empty line. The data goes to keep, or is skipped
// in br's buffer when keep is nil (no copy, nothing allocated). More than
// limit bytes of data (limit < 0: no limit), a line longer than 4 KiB, a
// chunk not followed by CRLF or a bad size is an error; an end of stream
// inside the body is io.ErrUnexpectedEOF. It returns the data's length.
func ReadChunked(br *bufio.Reader, keep *bytes.Buffer, limit int64) (int64, error) {
	var total int64
	for {
		line, err := chunkLine(br)
		if err != nil {
			return total, err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, ok := Hex(bytes.TrimRight(line, " \t"))
		if !ok {
			return total, fmt.Errorf("%w: chunk size %q", ErrMalformed, line)
		}
		if size == 0 {
			for { // trailers, up to the empty line
				t, err := chunkLine(br)
				if err != nil {
					return total, err
				}
				if len(t) == 0 {
					return total, nil
				}
			}
		}
		if limit >= 0 && total+size > limit {
			return total, fmt.Errorf("chunked body: more than %d bytes", limit)
		}
		if keep != nil {
			_, err = io.CopyN(keep, br, size)
		} else {
			_, err = discard(br, size)
		}
		if err != nil {
			return total, unexpected(err)
		}
		total += size
		crlf, err := chunkLine(br)
		if err != nil {
			return total, err
		}
		if len(crlf) != 0 {
			return total, fmt.Errorf("%w: chunk data not followed by CRLF", ErrMalformed)
		}
	}
}

// chunkLine returns the next line without its CRLF; a line that ends in a
// bare LF is malformed (as in net/http/internal's reader: framing that two
// readers could split differently is how requests get smuggled). The line is
// valid until br is read again.
func chunkLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull || (err == nil && len(line) > maxChunkLine+2):
		return nil, fmt.Errorf("%w: chunk line longer than %d bytes", ErrMalformed, maxChunkLine)
	case err != nil:
		return nil, unexpected(err)
	}
	n := len(line)
	if n < 2 || line[n-2] != '\r' {
		return nil, fmt.Errorf("%w: chunk line ends with a bare LF", ErrMalformed)
	}
	return line[:n-2], nil
}

// discard skips n bytes (Discard takes an int; a chunk size may not fit).
func discard(br *bufio.Reader, n int64) (int64, error) {
	var done int64
	for done < n {
		step := min(n-done, 1<<30)
		k, err := br.Discard(int(step))
		done += int64(k)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
