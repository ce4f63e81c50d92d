package safetensors_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
)

// FuzzParse: any input either fails to parse or parses into a File whose
// every tensor reads back and survives a Write/Parse round trip. Seeds: small
// real tensors taken from the golden files, and the hostile cases' shapes.
func FuzzParse(f *testing.F) {
	tiny := golden.Open(f, "unet_tiny/diffusion_pytorch_model.safetensors")
	var entries []safetensors.Entry
	for _, name := range []string{"conv_in.bias", "conv_out.bias", "mid_block.attentions.0.group_norm.weight"} {
		entries = append(entries, safetensors.Entry{Name: name, Tensor: golden.Tensor(f, tiny, name)})
	}
	for _, dt := range []safetensors.DType{safetensors.F32, safetensors.F16, safetensors.BF16} {
		var buf bytes.Buffer
		if err := safetensors.Write(&buf, entries, dt, map[string]string{"format": "pt"}); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	// The first bytes of a real file: header intact, data truncated.
	raw, err := os.ReadFile(filepath.Join(golden.Dir(f), "schedulers/ddpm.safetensors"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw[:4096])
	f.Add(file(`{"t":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"u":{"dtype":"U8","shape":[3],"data_offsets":[16,19]},`+
		`"d":{"dtype":"F64","shape":[],"data_offsets":[24,32]},"__metadata__":{"format":"pt"}}`, 32))
	f.Add(file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12))
	f.Add(file(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, 0))
	f.Add(withLength(1<<62, "{}"))
	f.Add(file(`{}`, 0))

	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := safetensors.Parse(data)
		if err != nil {
			return
		}
		var floats []safetensors.Entry
		for _, name := range file.Names() {
			info, ok := file.Info(name)
			if !ok || info.Begin < 0 || info.End > len(data) || info.Begin > info.End {
				t.Fatalf("%q: bad info %+v", name, info)
			}
			switch info.DType {
			case safetensors.I64:
				if _, _, err := file.Int64s(name); err != nil {
					t.Fatal(err)
				}
			case safetensors.U8:
				if _, _, err := file.Uint8s(name); err != nil {
					t.Fatal(err)
				}
			default:
				x, err := file.Tensor(name)
				if err != nil {
					t.Fatal(err)
				}
				if info.DType != safetensors.F64 {
					floats = append(floats, safetensors.Entry{Name: name, Tensor: x})
				}
			}
		}
		// F32, F16 and BF16 widen exactly, so an F32 rewrite keeps every bit.
		var buf bytes.Buffer
		if err := safetensors.Write(&buf, floats, safetensors.F32, file.Metadata); err != nil {
			return // e.g. a name that is not valid UTF-8
		}
		again, err := safetensors.Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("rewritten file does not parse: %v", err)
		}
		for _, e := range floats {
			x, err := again.Tensor(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !sameBits(x, e.Tensor) {
				t.Fatalf("%q changed in the round trip", e.Name)
			}
		}
	})
}

func sameBits(a, b *tensor.Tensor) bool {
	if len(a.Data) != len(b.Data) || len(a.Shape) != len(b.Shape) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	for i := range a.Data {
		if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
			return false
		}
	}
	return true
}
