package testvideo

import "encoding/binary"

// NestingBomb is an MP4 whose moov holds levels boxes nested one inside
// the other, cycling through the container types a parser opens (trak,
// mdia, minf, stbl, mvex): 8 bytes of header per level and nothing else.
// A parser that opens them wherever they appear and copies the path at
// every level costs memory in the square of levels.
func NestingBomb(levels int) []byte {
	ftyp := []byte("\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom")
	b := make([]byte, 0, len(ftyp)+8*(levels+1))
	b = append(b, ftyp...)
	b = binary.BigEndian.AppendUint32(b, uint32(8*(levels+1)))
	b = append(b, "moov"...)
	types := []string{"trak", "mdia", "minf", "stbl", "mvex"}
	for i := range levels {
		b = binary.BigEndian.AppendUint32(b, uint32(8*(levels-i)))
		b = append(b, types[i%len(types)]...)
	}
	return b
}
