package safetensors

// DType is a safetensors element type name, as written in the header.
type DType string

// The element types this package reads. Others (I8, I16, I32, U16, U32, U64,
// BOOL, F8_*) are rejected by name.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	F64  DType = "F64"
	I64  DType = "I64"
	U8   DType = "U8"
)

// size is the number of bytes per element, or 0 for an unknown dtype.
func (d DType) size() int {
	switch d {
	case F32:
		return 4
	case F16, BF16:
		return 2
	case F64, I64:
		return 8
	case U8:
		return 1
	}
	return 0
}
