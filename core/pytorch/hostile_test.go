package pytorch_test

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"chrysalis/core/pytorch"
	"chrysalis/core/pytorch/pytorchtest"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
)

func archive(t testing.TB, records ...pytorchtest.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := pytorchtest.Zip(&buf, "archive", records); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// float32s is a FloatStorage record of n elements.
func float32s(key string, n int) pytorchtest.Record {
	return pytorchtest.Record{Name: "data/" + key, Data: make([]byte, 4*n)}
}

// one is a checkpoint with a single view into storage "0" of 4 float32s.
func one(t testing.TB, v pytorchtest.View) []byte {
	t.Helper()
	return archive(t, pytorchtest.Record{Name: "data.pkl", Data: pytorchtest.Pickle([]pytorchtest.View{v})}, float32s("0", 4))
}

func view(size, stride []int, offset int) pytorchtest.View {
	return pytorchtest.View{Name: "w", Class: "FloatStorage", Key: "0", Numel: 4, Offset: offset, Size: size, Stride: stride}
}

func pkl(s string) pytorchtest.Record { return pytorchtest.Record{Name: "data.pkl", Data: []byte(s)} }

// Each malformed or hostile checkpoint gives an error that names the
// problem, and the tensor or storage where there is one.
func TestHostile(t *testing.T) {
	good := pytorchtest.Pickle([]pytorchtest.View{view([]int{4}, []int{1}, 0)})
	var deflated bytes.Buffer
	zw := zip.NewWriter(&deflated)
	for _, r := range []pytorchtest.Record{{Name: "data.pkl", Data: good}, float32s("0", 4)} {
		f, _ := zw.Create("archive/" + r.Name) // Create deflates
		f.Write(r.Data)
	}
	zw.Close()
	const dict = "\x80\x02ccollections\nOrderedDict\n)R"
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"no data.pkl", archive(t, float32s("0", 4)), "no <name>/data.pkl record"},
		{"missing storage record", archive(t, pytorchtest.Record{Name: "data.pkl", Data: good}),
			`storage "0": zip record "archive/data/0" missing`},
		{"storage record too small", archive(t, pytorchtest.Record{Name: "data.pkl", Data: good}, float32s("0", 3)),
			`storage "0": zip record "archive/data/0" holds 12 bytes, but FloatStorage of 4 elements needs 16`},
		{"compressed storage", deflated.Bytes(), `zip record "archive/data/0" is compressed (method 8)`},
		{"TorchScript", archive(t, pytorchtest.Record{Name: "data.pkl", Data: good}, float32s("0", 4), pytorchtest.Record{Name: "constants.pkl"}),
			"TorchScript archives"},
		{"big-endian", archive(t, pytorchtest.Record{Name: "data.pkl", Data: good}, float32s("0", 4), pytorchtest.Record{Name: "byteorder", Data: []byte("big")}),
			`byteorder "big" is not supported`},
		{"view past storage", one(t, view([]int{5}, []int{1}, 0)), `tensor "w": view (offset 0, size [5], stride [1]) reaches element 4 of storage "0", which has 4`},
		{"offset past storage", one(t, view([]int{1}, []int{1}, 4)), `reaches element 4 of storage "0"`},
		{"strided past storage", one(t, view([]int{2, 2}, []int{3, 1}, 0)), `reaches element 4`},
		{"negative offset", one(t, view([]int{1}, []int{1}, -1)), `tensor "w": negative storage offset -1`},
		{"negative size", one(t, view([]int{-1}, []int{1}, 0)), `tensor "w": size [-1], stride [1]: negative entry`},
		{"negative stride", one(t, view([]int{2}, []int{-1}, 1)), `negative entry`},
		{"size/stride lengths", one(t, view([]int{2, 2}, []int{1}, 0)), `size [2 2] and stride [1] differ in length`},
		{"stride-0 expansion", one(t, view([]int{1 << 40}, []int{0}, 0)), `views expand to more elements than the file has bytes`},
		{"numel overflow", one(t, view([]int{1 << 40, 1 << 40}, []int{0, 0}, 0)), `views expand to more elements`},
		{"stride overflow", one(t, view([]int{3}, []int{1 << 62}, 0)), `overflow`},
		{"unknown storage class", one(t, pytorchtest.View{Name: "w", Class: "QInt8Storage", Key: "0", Numel: 4, Size: []int{4}, Stride: []int{1}}),
			`pickle refers to torch.QInt8Storage`},
		{"storage size mismatch", one(t, pytorchtest.View{Name: "w", Class: "HalfStorage", Key: "0", Numel: 4, Size: []int{4}, Stride: []int{1}}),
			`holds 16 bytes, but HalfStorage of 4 elements needs 8`},
		{"one storage two dtypes", archive(t, pytorchtest.Record{Name: "data.pkl", Data: pytorchtest.Pickle([]pytorchtest.View{
			{Name: "a", Class: "FloatStorage", Key: "0", Numel: 4, Size: []int{4}, Stride: []int{1}},
			{Name: "b", Class: "HalfStorage", Key: "0", Numel: 8, Size: []int{8}, Stride: []int{1}}})}, float32s("0", 4)),
			`storage "0" is referenced as both FloatStorage[4] and HalfStorage[8]`},
		{"hostile string length", archive(t, pkl("\x80\x02X\xff\xff\xff\xff.")), "argument of 4294967295 bytes past end"},
		{"hostile bytes8 length", archive(t, pkl("\x80\x02\x8e\x00\x00\x00\x00\x00\x00\x00\x40.")), "argument of 4611686018427387904 bytes past end"},
		{"hostile frame", archive(t, pkl("\x80\x04\x95\x00\x00\x00\x00\x00\x00\x01\x00.")), "pickle frame at byte 2 longer than"},
		{"long decimal", archive(t, pkl("\x80\x02L"+strings.Repeat("9", 5000)+"\n.")), "text argument unterminated or over 4096 bytes"},
		{"no STOP", archive(t, pkl("\x80\x02}")), "pickle ends without STOP"},
		{"unknown opcode", archive(t, pkl("\x80\x02\xff.")), "unknown opcode 0xff"},
		{"foreign global", archive(t, pkl("\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.")), "pickle refers to os.system"},
		{"root not a dict", archive(t, pkl("\x80\x02]q\x00.")), "holds a *types.List, not a state dict"},
		{"non-tensor value", archive(t, pkl(dict+"X\x05\x00\x00\x00epochK\x03s.")), `key "epoch": 3 is not a tensor`},
		{"non-string key", archive(t, pkl(dict+"K\x01K\x03s.")), `state dict key 1 is not a string`},
		{"self-nested dict", archive(t, pkl("\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.")), `key "a": the same dict appears twice`},
		// {"a": d, "b": d} for d = {"a": e, "b": e}, and so on 12 deep: 2^12 paths if walked naively.
		{"shared dicts", archive(t, pkl("\x80\x02}"+strings.Repeat("q\x00}(X\x01\x00\x00\x00ah\x00X\x01\x00\x00\x00bh\x00u", 12)+".")), `the same dict appears twice`},
		{"deep dicts", archive(t, pkl("\x80\x02"+strings.Repeat("}X\x01\x00\x00\x00a", 20)+"}"+strings.Repeat("s", 20)+".")), `dicts nested deeper than 16`},
		{"unhashable key (gopickle panics)", archive(t, pkl(dict+"C\x01aNs.")), "malformed pickle"},
		{"bad persistent id", archive(t, pkl("\x80\x02K\x01Q.")), `persistent id 1 is not ("storage"`},
	} {
		_, err := pytorch.Load(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

// Every proper prefix of a valid checkpoint is rejected.
func TestTruncated(t *testing.T) {
	var buf bytes.Buffer
	state := []safetensors.Entry{{Name: "w", Tensor: tensor.From([]float32{1, 2, 3, 4, 5, 6}, 2, 3)}}
	if err := pytorchtest.Write(&buf, state); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	for n := 0; n < len(data); n++ {
		if _, err := pytorch.Load(data[:n:n]); err == nil {
			t.Errorf("prefix of %d/%d bytes loaded without error", n, len(data))
		}
	}
}
