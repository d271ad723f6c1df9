package testvideo

import (
	"bytes"
	"fmt"
	"os"
)

// Corruption is a way a video file can be broken.
type Corruption int

const (
	// Garbage is random-looking bytes with an .mp4 name.
	Garbage Corruption = iota
	// Truncated keeps the first half of an MP4 whose index (moov) is at the
	// end, as an interrupted copy leaves it.
	Truncated
	// ZeroedPayload keeps the container intact but zeroes the coded
	// pictures: it probes as a valid MP4 and decodes to nothing.
	ZeroedPayload
)

func (c Corruption) String() string {
	return [...]string{"garbage", "truncated", "zeroed-payload"}[c]
}

// Corrupt writes to dst a broken copy of the MP4 at src. src must have its
// moov box after mdat (ffmpeg's default, as Generate writes).
func Corrupt(src, dst string, c Corruption) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("corrupt: %w", err)
	}
	switch c {
	case Garbage:
		// A deterministic pseudo-random stream (xorshift), no MP4 boxes.
		x := uint32(2463534242)
		for i := range data {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			data[i] = byte(x)
		}
	case Truncated:
		data = data[:len(data)/2]
	case ZeroedPayload:
		mdat, moov := bytes.Index(data, []byte("mdat")), bytes.Index(data, []byte("moov"))
		if mdat < 0 || moov < mdat {
			return fmt.Errorf("corrupt %s: want mdat before moov", src)
		}
		clear(data[mdat+4 : moov-4])
	default:
		return fmt.Errorf("corrupt: unknown corruption %d", c)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		return fmt.Errorf("corrupt: %w", err)
	}
	return nil
}
