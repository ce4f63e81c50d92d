package pytorch_test

import (
	"archive/zip"
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"

	"chrysalis/core/pytorch"
	"chrysalis/core/pytorch/pytorchtest"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
)

// FuzzLoad: any input either fails to load or gives tensors whose data
// matches their shape and whose total size is bounded by the input's. Each
// input is loaded twice: as a whole file, and as the data.pkl of an archive
// with storages "0".."9" of 64 float32s each, so that the fuzzer also reaches
// the pickle (inside a zip, a mutated pickle mostly fails its CRC). Seeds:
// the torch-made fixtures and their pickles, a pytorchtest checkpoint and a
// hostile view.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"state.bin", "nested.bin", "int.bin", "legacy.bin"} {
		data := readFixture(f, name)
		f.Add(data)
		if zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data))); err == nil {
			for _, file := range zr.File {
				if strings.HasSuffix(file.Name, "/data.pkl") {
					rc, _ := file.Open()
					pkl, _ := io.ReadAll(rc)
					f.Add(pkl)
				}
			}
		}
	}
	var buf bytes.Buffer
	state := []safetensors.Entry{{Name: "w", Tensor: tensor.From([]float32{1, 2, 3, 4, 5, 6}, 2, 3)}}
	if err := pytorchtest.Write(&buf, state); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(one(f, view([]int{2, 2}, []int{1, 2}, 0)))
	f.Add(one(f, view([]int{1 << 40}, []int{0}, 0)))

	storages := []pytorchtest.Record{{Name: "data.pkl"}}
	for i := 0; i < 10; i++ {
		storages = append(storages, float32s(strconv.Itoa(i), 64))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check(t, data)
		storages[0].Data = data
		check(t, archive(t, storages...))
	})
}

func check(t *testing.T, data []byte) {
	state, err := pytorch.Load(data)
	if err != nil {
		return
	}
	total := 0
	for name, x := range state {
		n := 1
		for _, d := range x.Shape {
			n *= d
		}
		if n != len(x.Data) {
			t.Fatalf("%q: shape %v with %d values", name, x.Shape, len(x.Data))
		}
		total += n
	}
	if total > len(data) {
		t.Fatalf("%d elements from %d bytes", total, len(data))
	}
}
