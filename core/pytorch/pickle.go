package pytorch

import (
	"encoding/binary"
	"fmt"
)

// Limits on data.pkl. A diffusers UNet's pickle is about 50 KB and some 30
// opcodes per tensor, so these leave room for very large models while
// bounding the memory gopickle's unpickler can be made to use (a few hundred
// bytes per opcode at most).
const (
	maxPickleSize    = 16 << 20
	maxPickleOpcodes = 1 << 19
	maxPickleLine    = 1 << 12
)

// checkPickle walks the opcode stream of a pickle without executing it and
// rejects what would make gopickle misbehave: a length argument longer than
// the bytes left (gopickle allocates the length before reading), an overlong
// text line (decimal integers are parsed in quadratic time), too many opcodes,
// an unknown opcode or a missing STOP.
func checkPickle(p []byte) error {
	for pos, ops := 0, 0; ; ops++ {
		if pos >= len(p) {
			return fmt.Errorf("pickle ends without STOP")
		}
		if ops >= maxPickleOpcodes {
			return fmt.Errorf("pickle has more than %d opcodes", maxPickleOpcodes)
		}
		op := p[pos]
		pos++
		rest := len(p) - pos
		// need reports an argument of n bytes that runs past the end.
		need := func(n uint64) error {
			if n > uint64(rest) {
				return fmt.Errorf("pickle opcode 0x%02x at byte %d: argument of %d bytes past end (%d left)", op, pos-1, n, rest)
			}
			pos += int(n)
			rest -= int(n)
			return nil
		}
		// counted reads a w-byte little-endian length, then skips that many bytes.
		counted := func(w int) error {
			if err := need(uint64(w)); err != nil {
				return err
			}
			var n uint64
			switch w {
			case 1:
				n = uint64(p[pos-1])
			case 4:
				n = uint64(binary.LittleEndian.Uint32(p[pos-4:]))
			case 8:
				n = binary.LittleEndian.Uint64(p[pos-8:])
			}
			return need(n)
		}
		// lines skips n newline-terminated text arguments.
		lines := func(n int) error {
			for ; n > 0; n-- {
				end := pos
				for end < len(p) && p[end] != '\n' && end-pos < maxPickleLine {
					end++
				}
				if end == len(p) || p[end] != '\n' {
					return fmt.Errorf("pickle opcode %q at byte %d: text argument unterminated or over %d bytes", op, pos-1, maxPickleLine)
				}
				pos = end + 1
			}
			return nil
		}
		var err error
		switch op {
		case '.': // STOP
			return nil
		case '(', '0', '1', '2', 'N', 'Q', 'R', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 's', 't', ')', 'u',
			0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98:
			// no argument
		case 'h', 'q', 'K', 0x80, 0x82: // one byte
			err = need(1)
		case 'M', 0x83: // two bytes
			err = need(2)
		case 'J', 'j', 'r', 0x84: // four bytes
			err = need(4)
		case 'G': // BINFLOAT
			err = need(8)
		case 0x95: // FRAME: the length covers the opcodes that follow
			if err = need(8); err == nil && binary.LittleEndian.Uint64(p[pos-8:]) > uint64(rest) {
				err = fmt.Errorf("pickle frame at byte %d longer than the %d bytes left", pos-9, rest)
			}
		case 'U', 'C', 0x8c, 0x8a: // 1-byte length + data
			err = counted(1)
		case 'T', 'X', 'B', 0x8b: // 4-byte length + data
			err = counted(4)
		case 0x8d, 0x8e, 0x96: // 8-byte length + data
			err = counted(8)
		case 'I', 'L', 'F', 'S', 'V', 'P', 'g', 'p':
			err = lines(1)
		case 'c', 'i':
			err = lines(2)
		default:
			err = fmt.Errorf("pickle has unknown opcode 0x%02x at byte %d", op, pos-1)
		}
		if err != nil {
			return err
		}
	}
}
