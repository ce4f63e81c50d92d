// Package safetensors reads and writes the safetensors checkpoint format that
// diffusers uses for weights (diffusion_pytorch_model.safetensors) and that the
// golden reference data uses for tensors.
//
// Layout: an 8-byte little-endian u64 header length N, N bytes of JSON
//
//	{"name": {"dtype": "F32", "shape": [16, 3, 3, 3], "data_offsets": [begin, end]}, ...,
//	 "__metadata__": {"format": "pt"}}
//
// right-padded with spaces, then the data section holding every tensor's raw
// little-endian bytes, row-major, at [begin, end) relative to the start of
// the data section.
//
// Parse validates the whole header before it touches the data or allocates
// anything proportional to a size the file claims: the header length, the
// JSON, every dtype, shape and offset pair, the byte size of each tensor
// (end-begin == numel*dtype size), overlaps and duplicate names. A hostile or
// truncated file gives an error naming the tensor, never a panic or a huge
// allocation.
//
// Gaps between tensors and unused bytes after the last one are accepted
// (diffusers never writes them, and they cannot make a read go wrong);
// overlapping tensors are rejected. Write produces the canonical layout:
// tensors in sorted-name order, no gaps, header padded to a multiple of 8.
//
// Floats read as float32 (F32, F16 and BF16 exactly, F64 rounded to nearest);
// F64/I64/U8 have their own accessors for reference data.
package safetensors
