package safetensors_test

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"strings"
	"testing"

	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
)

// file builds a safetensors file from a raw header and n data bytes.
func file(header string, n int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, n)...)
}

// withLength is a file whose 8-byte header length field claims n.
func withLength(n uint64, rest string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
}

// Each hostile or malformed file gives an error that names the problem (and
// the tensor, where there is one).
func TestHostile(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "shorter than the 8-byte header length"},
		{"truncated length", []byte{1, 2, 3}, "shorter than the 8-byte header length"},
		{"header length 1<<62", withLength(1<<62, "{}"), "exceeds the 104857600-byte limit"},
		{"header length 2^64-1", withLength(1<<64-1, "{}"), "exceeds the"},
		{"header length past end", withLength(100, "{}"), "header length 100 past end of file (2 bytes"},
		{"header length 0", withLength(0, ""), "header length 0 is too small"},
		{"header not JSON", file("nonsense", 0), "header is not a JSON object"},
		{"header a JSON array", file("[1,2]   ", 0), "header is not a JSON object"},
		{"unterminated JSON", file(`{"a":{"dtype":"F32"`, 0), `tensor "a": header entry`},
		{"trailing garbage", file(`{} x`, 0), "trailing garbage"},
		{"entry not an object", file(`{"a":5}`, 0), `tensor "a": header entry`},
		{"wrong dtype", file(`{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, 1), `tensor "w": unsupported dtype "F8_E4M3"`},
		{"lowercase dtype", file(`{"w":{"dtype":"float32","shape":[1],"data_offsets":[0,4]}}`, 4), `tensor "w": unsupported dtype "float32"`},
		{"missing dtype", file(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, 4), `tensor "w": missing dtype`},
		{"missing shape", file(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, 4), `tensor "w": missing shape`},
		{"missing offsets", file(`{"w":{"dtype":"F32","shape":[1]}}`, 4), `tensor "w": data_offsets must be [begin, end], got 0`},
		{"three offsets", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, 8), `got 3 values`},
		{"dtype size mismatch", file(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 8), `tensor "w": offsets [0,4] hold 4 bytes, but F32[2] needs 8`},
		{"F16 sized as F32", file(`{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}`, 8), `F16[2] needs 4`},
		{"offsets past end", file(`{"down_blocks.0.resnets.0.conv1.weight":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 12),
			`safetensors: tensor "down_blocks.0.resnets.0.conv1.weight": offsets [0,16] past end of data (12 bytes)`},
		{"huge offsets", file(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]}}`, 0), `past end of data (0 bytes)`},
		{"offset beyond u64", file(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551616]}}`, 1), `not non-negative integers`},
		{"negative offset", file(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, 1), `not non-negative integers`},
		{"begin after end", file(`{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}`, 4), `tensor "w": offsets [4,0]: begin after end`},
		{"negative dim", file(`{"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,0]}}`, 0), `tensor "w": shape [-1 4]: negative dimension -1`},
		{"fractional dim", file(`{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,10]}}`, 10), `dimension 0 is not an integer`},
		{"dim beyond int64", file(`{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}`, 4), `dimension 0 is not an integer`},
		{"numel overflow", file(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, 0), `tensor "w": shape [4294967296 4294967296]: element count overflows`},
		{"bytes overflow", file(`{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`, 0), `element count overflows`},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12),
			`tensor "b": offsets [4,12] overlap tensor "a" at [0,8]`},
		{"same offsets", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 4), `overlap tensor`},
		{"duplicate tensor", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), `tensor "a" appears twice`},
		{"duplicate metadata", file(`{"__metadata__":{},"__metadata__":{}}`, 0), `duplicate key "__metadata__"`},
		{"metadata not object", file(`{"__metadata__":[1]}`, 0), `__metadata__ is not an object of strings`},
		{"metadata null", file(`{"__metadata__":null}`, 0), `__metadata__ is not an object of strings`},
		{"metadata number value", file(`{"__metadata__":{"format":1}}`, 0), `__metadata__ key "format": value 1 is not a string`},
	} {
		_, err := safetensors.Parse(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

// Every proper prefix of a valid file is rejected.
func TestTruncated(t *testing.T) {
	var buf bytes.Buffer
	entries := []safetensors.Entry{
		{Name: "a", Tensor: tensor.From([]float32{1, 2, 3}, 3)},
		{Name: "b", Tensor: tensor.From([]float32{4, 5}, 1, 2)},
	}
	if err := safetensors.Write(&buf, entries, safetensors.F16, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if _, err := safetensors.Parse(data); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(data); n++ {
		if _, err := safetensors.Parse(data[:n:n]); err == nil {
			t.Errorf("prefix of %d/%d bytes parsed without error", n, len(data))
		}
	}
	_, err := safetensors.Parse(data[:len(data)-1])
	if want := `safetensors: tensor "b": offsets [6,10] past end of data (9 bytes)`; err == nil || err.Error() != want {
		t.Errorf("one byte short: err %v, want %q", err, want)
	}
}

// Accepted but unusual: gaps between tensors, bytes after the last one, an
// empty tensor inside another's range, a 0-dim scalar, and unknown entry
// fields. diffusers never writes gaps; they cannot make a read go wrong.
func TestAcceptedLayouts(t *testing.T) {
	data := file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},`+
		`"e":{"dtype":"F32","shape":[0,5],"data_offsets":[5,5]},`+
		`"s":{"dtype":"U8","shape":[],"data_offsets":[8,9],"extra":true}}  `, 16)
	copy(data[len(data)-16+4:], []byte{7, 9})
	f, err := safetensors.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	a, shape, err := f.Uint8s("a")
	if err != nil || !bytes.Equal(a, []byte{7, 9}) || len(shape) != 1 {
		t.Errorf("a = %v %v %v", a, shape, err)
	}
	if e, err := f.Tensor("e"); err != nil || e.Numel() != 0 || len(e.Shape) != 2 {
		t.Errorf("empty tensor e = %v, %v", e, err)
	}
	if s, shape, err := f.Uint8s("s"); err != nil || len(s) != 1 || len(shape) != 0 {
		t.Errorf("scalar s = %v %v %v", s, shape, err)
	}
	if _, err := f.Tensor("a"); err == nil || !strings.Contains(err.Error(), `tensor "a": dtype U8`) {
		t.Errorf("U8 read as float: err %v", err)
	}
	if _, err := f.Tensor("missing"); err == nil || !strings.Contains(err.Error(), `no tensor "missing"`) {
		t.Errorf("missing tensor: err %v", err)
	}
}

// A hostile header length is rejected without allocating what it claims.
func TestHostileAllocatesLittle(t *testing.T) {
	hostile := [][]byte{
		withLength(1<<62, "{}"),
		file(`{"w":{"dtype":"F32","shape":[1073741824,1073741824],"data_offsets":[0,4]}}`, 4),
		file(`{"w":{"dtype":"F32","shape":[268435456],"data_offsets":[0,1073741824]}}`, 4),
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, data := range hostile {
		if _, err := safetensors.Parse(data); err == nil {
			t.Fatalf("hostile file parsed")
		}
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("parsing hostile headers allocated %d bytes", grew)
	}
}
