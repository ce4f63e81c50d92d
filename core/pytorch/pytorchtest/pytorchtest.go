// Package pytorchtest writes small PyTorch torch.save checkpoints for tests:
// whole state dicts (Write), and hand-made archives with arbitrary views and
// records (Pickle, Zip) for tests of malformed files.
//
// The output is what torch.save writes for a state dict in its zip format
// (pickle protocol 2): archive/data.pkl, archive/data/<key>, archive/version.
// A file from Write was checked once with Debian's torch 1.13.1
// (python3-torch): torch.load returns the same names, shapes and values.
package pytorchtest

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"

	"chrysalis/core/safetensors"
)

// Write writes state as a torch.save checkpoint: an OrderedDict of
// contiguous float32 tensors, each in its own FloatStorage.
func Write(w io.Writer, state []safetensors.Entry) error {
	views := make([]View, len(state))
	records := []Record{{Name: "data.pkl"}}
	for i, e := range state {
		if e.Tensor == nil {
			return fmt.Errorf("pytorchtest: tensor %q is nil", e.Name)
		}
		n, stride := 1, make([]int, len(e.Tensor.Shape))
		for d := len(stride) - 1; d >= 0; d-- {
			stride[d] = n
			n *= e.Tensor.Shape[d]
		}
		if n != len(e.Tensor.Data) {
			return fmt.Errorf("pytorchtest: tensor %q: shape %v but %d values", e.Name, e.Tensor.Shape, len(e.Tensor.Data))
		}
		key := strconv.Itoa(i)
		views[i] = View{Name: e.Name, Class: "FloatStorage", Key: key, Numel: n, Size: e.Tensor.Shape, Stride: stride}
		raw := make([]byte, 4*n)
		for j, v := range e.Tensor.Data {
			binary.LittleEndian.PutUint32(raw[4*j:], math.Float32bits(v))
		}
		records = append(records, Record{Name: "data/" + key, Data: raw})
	}
	records[0].Data = Pickle(views)
	records = append(records, Record{Name: "version", Data: []byte("3\n")})
	return Zip(w, "archive", records)
}

// View is one state-dict entry of a hand-made checkpoint:
// torch._utils._rebuild_tensor_v2 of the storage Key (torch.<Class>, Numel
// elements) at Offset with Size and Stride.
type View struct {
	Name, Class, Key string
	Numel, Offset    int
	Size, Stride     []int
}

// Pickle returns the data.pkl (protocol 2) of an OrderedDict of views, the
// opcodes torch.save emits.
func Pickle(views []View) []byte {
	var p pickler
	p.WriteString("\x80\x02") // PROTO 2
	p.global("collections", "OrderedDict")
	p.WriteString(")R") // EMPTY_TUPLE, REDUCE: OrderedDict()
	if len(views) > 0 {
		p.WriteByte('(') // MARK
		for _, v := range views {
			p.str(v.Name)
			p.global("torch._utils", "_rebuild_tensor_v2")
			p.WriteString("((") // MARK args, MARK persistent id
			p.str("storage")
			p.global("torch", v.Class)
			p.str(v.Key)
			p.str("cpu")
			p.int(v.Numel)
			p.WriteString("tQ") // TUPLE, BINPERSID
			p.int(v.Offset)
			p.ints(v.Size)
			p.ints(v.Stride)
			p.WriteByte(0x89) // NEWFALSE: requires_grad
			p.global("collections", "OrderedDict")
			p.WriteString(")R") // backward_hooks = OrderedDict()
			p.WriteString("tR") // TUPLE, REDUCE: _rebuild_tensor_v2(*args)
		}
		p.WriteByte('u') // SETITEMS
	}
	p.WriteByte('.') // STOP
	return p.Bytes()
}

type pickler struct{ bytes.Buffer }

func (p *pickler) global(module, name string) { fmt.Fprintf(p, "c%s\n%s\n", module, name) }

// str is BINUNICODE: 'X', u32 length, UTF-8 bytes.
func (p *pickler) str(s string) {
	p.WriteByte('X')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
	p.WriteString(s)
}

// int is BININT (i32) or LONG1 with 8 bytes.
func (p *pickler) int(v int) {
	if v == int(int32(v)) {
		p.WriteByte('J')
		p.Write(binary.LittleEndian.AppendUint32(nil, uint32(int32(v))))
		return
	}
	p.WriteString("\x8a\x08")
	p.Write(binary.LittleEndian.AppendUint64(nil, uint64(v)))
}

// ints is a tuple: MARK, ints, TUPLE.
func (p *pickler) ints(vs []int) {
	p.WriteByte('(')
	for _, v := range vs {
		p.int(v)
	}
	p.WriteByte('t')
}

// Record is one file of a checkpoint archive, named below "<prefix>/".
type Record struct {
	Name string
	Data []byte
}

// Zip writes records, uncompressed, as the zip archive <prefix>/<name>.
func Zip(w io.Writer, prefix string, records []Record) error {
	zw := zip.NewWriter(w)
	for _, r := range records {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: prefix + "/" + r.Name, Method: zip.Store})
		if err != nil {
			return fmt.Errorf("pytorchtest: %v", err)
		}
		if _, err := f.Write(r.Data); err != nil {
			return fmt.Errorf("pytorchtest: %v", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pytorchtest: %v", err)
	}
	return nil
}
