package serialhb

import "fmt"

// AppendCOBS appends the Consistent Overhead Byte Stuffing encoding of src to
// dst. The result holds no zero byte, so a zero byte delimits frames.
func AppendCOBS(dst, src []byte) []byte {
	codeAt := len(dst)
	dst = append(dst, 0)
	code := byte(1)
	for _, c := range src {
		if c == 0 {
			dst[codeAt] = code
			codeAt = len(dst)
			dst = append(dst, 0)
			code = 1
			continue
		}
		dst = append(dst, c)
		code++
		if code == 0xff {
			dst[codeAt] = code
			codeAt = len(dst)
			dst = append(dst, 0)
			code = 1
		}
	}
	dst[codeAt] = code
	return dst
}

// AppendUnCOBS appends the decoding of the COBS block src (without its zero
// delimiter) to dst. It fails with ErrCOBS on a zero byte or a code that
// runs past the end of src.
func AppendUnCOBS(dst, src []byte) ([]byte, error) {
	for i := 0; i < len(src); {
		code := src[i]
		if code == 0 {
			return dst, fmt.Errorf("%w: zero byte at %d", ErrCOBS, i)
		}
		i++
		end := i + int(code) - 1
		if end > len(src) {
			return dst, fmt.Errorf("%w: block at %d runs %d bytes past the end", ErrCOBS, i-1, end-len(src))
		}
		for _, c := range src[i:end] {
			if c == 0 {
				return dst, fmt.Errorf("%w: zero byte inside a block", ErrCOBS)
			}
		}
		dst = append(dst, src[i:end]...)
		i = end
		if code != 0xff && i < len(src) {
			dst = append(dst, 0)
		}
	}
	return dst, nil
}

// Framer splits a byte stream into COBS blocks at zero delimiters. Bytes of
// a block longer than MaxBlock are discarded up to the next delimiter. The
// zero value is ready to use (MaxBlock 0 means the largest frame this
// package sends, plus slack). A Framer is not safe for concurrent use.
type Framer struct {
	// MaxBlock is the longest block kept, in stuffed bytes.
	MaxBlock int

	buf       []byte
	overflow  bool
	Discarded uint64 // blocks dropped because they were too long
}

// Feed consumes p and calls fn with each complete, non-empty block found
// (stuffed, without delimiters). The block is valid only during the call.
func (fr *Framer) Feed(p []byte, fn func(block []byte)) {
	limit := fr.MaxBlock
	if limit <= 0 {
		limit = 2 * WireLen
	}
	for len(p) > 0 {
		i := indexZero(p)
		if i < 0 {
			fr.add(p, limit)
			return
		}
		fr.add(p[:i], limit)
		p = p[i+1:]
		if fr.overflow {
			fr.Discarded++
		} else if len(fr.buf) > 0 {
			fn(fr.buf)
		}
		fr.buf = fr.buf[:0]
		fr.overflow = false
	}
}

// Pending reports how many bytes of an unfinished block are buffered.
func (fr *Framer) Pending() int { return len(fr.buf) }

func (fr *Framer) add(p []byte, limit int) {
	if fr.overflow {
		return
	}
	if len(fr.buf)+len(p) > limit {
		fr.overflow = true
		fr.buf = fr.buf[:0]
		return
	}
	fr.buf = append(fr.buf, p...)
}

func indexZero(p []byte) int {
	for i, c := range p {
		if c == 0 {
			return i
		}
	}
	return -1
}
