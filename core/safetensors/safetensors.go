package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"unicode/utf8"

	"chrysalis/core/internal/half"
	"chrysalis/core/tensor"
)

// MaxHeaderSize caps the JSON header (100 MB). Real headers are tens of KB;
// the cap bounds what a hostile header length can make Parse look at.
const MaxHeaderSize = 100 << 20

// Info describes one tensor. Begin and End are byte offsets relative to the
// start of the data section.
type Info struct {
	DType      DType
	Shape      []int
	Begin, End int
}

// File is a parsed safetensors file. It references the bytes given to Parse.
type File struct {
	Metadata map[string]string
	infos    map[string]Info
	names    []string
	data     []byte // the data section
}

// ReadFile reads and parses the file at path.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (reading %s)", err, path)
	}
	return f, nil
}

// Parse validates the header of a whole safetensors file and returns it. data
// is kept, not copied, and must not be modified while the File is in use.
func Parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("safetensors: file is %d bytes, shorter than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	switch {
	case n < 2:
		return nil, fmt.Errorf("safetensors: header length %d is too small for a JSON object", n)
	case n > MaxHeaderSize:
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	case n > uint64(len(data)-8):
		return nil, fmt.Errorf("safetensors: header length %d past end of file (%d bytes after the length)", n, len(data)-8)
	}
	header := data[8 : 8+n]
	f := &File{Metadata: map[string]string{}, infos: map[string]Info{}, data: data[8+n:]}
	if err := f.parseHeader(header); err != nil {
		return nil, err
	}
	if err := f.checkOverlaps(); err != nil {
		return nil, err
	}
	return f, nil
}

// rawInfo is a header entry before validation. Numbers stay text so that
// negative, fractional and oversized values are reported, not truncated.
type rawInfo struct {
	DType       *string       `json:"dtype"`
	Shape       []json.Number `json:"shape"`
	DataOffsets []json.Number `json:"data_offsets"`
}

func (f *File) parseHeader(header []byte) error {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("safetensors: header is not a JSON object")
	}
	sawMetadata := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("safetensors: header JSON: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return fmt.Errorf("safetensors: header JSON: key %v is not a string", tok)
		}
		if name == "__metadata__" {
			if sawMetadata {
				return fmt.Errorf("safetensors: duplicate key %q in header", name)
			}
			sawMetadata = true
			if err := f.parseMetadata(dec); err != nil {
				return err
			}
			continue
		}
		if _, dup := f.infos[name]; dup {
			return fmt.Errorf("safetensors: tensor %q appears twice in header", name)
		}
		var raw rawInfo
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("safetensors: tensor %q: header entry: %v", name, err)
		}
		info, err := f.validate(raw)
		if err != nil {
			return fmt.Errorf("safetensors: tensor %q: %v", name, err)
		}
		f.infos[name] = info
		f.names = append(f.names, name)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fmt.Errorf("safetensors: header JSON: %v", err)
	}
	if rest := bytes.TrimLeft(header[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return fmt.Errorf("safetensors: %d bytes of trailing garbage after the header JSON", len(rest))
	}
	sort.Strings(f.names)
	return nil
}

// parseMetadata reads the "__metadata__" value: an object of strings.
func (f *File) parseMetadata(dec *json.Decoder) error {
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return fmt.Errorf("safetensors: __metadata__ is not an object of strings")
	}
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("safetensors: __metadata__ key %q: value %s is not a string", k, truncate(v))
		}
		f.Metadata[k] = s
	}
	return nil
}

// validate checks one entry against the data section: known dtype,
// non-negative dims whose product does not overflow, offsets inside the data
// section, and end-begin == numel·size.
func (f *File) validate(raw rawInfo) (Info, error) {
	if raw.DType == nil {
		return Info{}, fmt.Errorf("missing dtype")
	}
	dt := DType(*raw.DType)
	size := dt.size()
	if size == 0 {
		return Info{}, fmt.Errorf("unsupported dtype %q (want F32, F16, BF16, F64, I64 or U8)", *raw.DType)
	}
	if raw.Shape == nil {
		return Info{}, fmt.Errorf("missing shape")
	}
	shape := make([]int, len(raw.Shape))
	numel := int64(1)
	for i, s := range raw.Shape {
		d, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return Info{}, fmt.Errorf("shape %v: dimension %d is not an integer", raw.Shape, i)
		}
		if d < 0 {
			return Info{}, fmt.Errorf("shape %v: negative dimension %d", raw.Shape, d)
		}
		if d != 0 && numel > math.MaxInt64/int64(size)/d {
			return Info{}, fmt.Errorf("shape %v: element count overflows", raw.Shape)
		}
		numel *= d
		shape[i] = int(d)
	}
	if len(raw.DataOffsets) != 2 {
		return Info{}, fmt.Errorf("data_offsets must be [begin, end], got %d values", len(raw.DataOffsets))
	}
	begin, err1 := strconv.ParseUint(string(raw.DataOffsets[0]), 10, 64)
	end, err2 := strconv.ParseUint(string(raw.DataOffsets[1]), 10, 64)
	if err1 != nil || err2 != nil {
		return Info{}, fmt.Errorf("data_offsets %v are not non-negative integers", raw.DataOffsets)
	}
	if begin > end {
		return Info{}, fmt.Errorf("offsets [%d,%d]: begin after end", begin, end)
	}
	if end > uint64(len(f.data)) {
		return Info{}, fmt.Errorf("offsets [%d,%d] past end of data (%d bytes)", begin, end, len(f.data))
	}
	if want := uint64(numel) * uint64(size); end-begin != want {
		return Info{}, fmt.Errorf("offsets [%d,%d] hold %d bytes, but %s%v needs %d", begin, end, end-begin, dt, shape, want)
	}
	return Info{DType: dt, Shape: shape, Begin: int(begin), End: int(end)}, nil
}

// checkOverlaps rejects two non-empty tensors that share bytes.
func (f *File) checkOverlaps() error {
	order := make([]string, 0, len(f.names))
	for _, name := range f.names {
		if info := f.infos[name]; info.End > info.Begin {
			order = append(order, name)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return f.infos[order[i]].Begin < f.infos[order[j]].Begin })
	for i := 1; i < len(order); i++ {
		prev, cur := f.infos[order[i-1]], f.infos[order[i]]
		if cur.Begin < prev.End {
			return fmt.Errorf("safetensors: tensor %q: offsets [%d,%d] overlap tensor %q at [%d,%d]",
				order[i], cur.Begin, cur.End, order[i-1], prev.Begin, prev.End)
		}
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// Names lists the tensor names in sorted order.
func (f *File) Names() []string { return append([]string(nil), f.names...) }

// Info describes the named tensor.
func (f *File) Info(name string) (Info, bool) {
	info, ok := f.infos[name]
	if !ok {
		return Info{}, false
	}
	info.Shape = append([]int(nil), info.Shape...)
	return info, true
}

// lookup returns the tensor's info and raw bytes, checking the dtype.
func (f *File) lookup(name string, want ...DType) (Info, []byte, error) {
	info, ok := f.infos[name]
	if !ok {
		return Info{}, nil, fmt.Errorf("safetensors: no tensor %q", name)
	}
	for _, d := range want {
		if info.DType == d {
			return info, f.data[info.Begin:info.End], nil
		}
	}
	return Info{}, nil, fmt.Errorf("safetensors: tensor %q: dtype %s, want one of %v", name, info.DType, want)
}

// Tensor returns the named float tensor as float32: F32, F16 and BF16 exactly,
// F64 rounded to nearest.
func (f *File) Tensor(name string) (*tensor.Tensor, error) {
	info, raw, err := f.lookup(name, F32, F16, BF16, F64)
	if err != nil {
		return nil, err
	}
	out := make([]float32, (info.End-info.Begin)/info.DType.size())
	switch info.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = half.F16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = half.BF16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	}
	return tensor.From(out, info.Shape...), nil
}

// Float64s returns an F64 tensor, or an F32 one widened, with its shape.
func (f *File) Float64s(name string) ([]float64, []int, error) {
	info, raw, err := f.lookup(name, F64, F32)
	if err != nil {
		return nil, nil, err
	}
	out := make([]float64, (info.End-info.Begin)/info.DType.size())
	for i := range out {
		if info.DType == F64 {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		} else {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	}
	return out, append([]int(nil), info.Shape...), nil
}

// Int64s returns an I64 tensor with its shape.
func (f *File) Int64s(name string) ([]int64, []int, error) {
	info, raw, err := f.lookup(name, I64)
	if err != nil {
		return nil, nil, err
	}
	out := make([]int64, len(raw)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return out, append([]int(nil), info.Shape...), nil
}

// Uint8s returns a U8 tensor (a copy) with its shape.
func (f *File) Uint8s(name string) ([]uint8, []int, error) {
	info, raw, err := f.lookup(name, U8)
	if err != nil {
		return nil, nil, err
	}
	return append([]uint8(nil), raw...), append([]int(nil), info.Shape...), nil
}

// Entry is one named tensor to write.
type Entry struct {
	Name   string
	Tensor *tensor.Tensor
}

// Write writes entries as a safetensors file in the layout diffusers'
// save_pretrained produces: tensors in sorted-name order with no gaps, the
// header padded with spaces to a multiple of 8, and metadata (if any) under
// "__metadata__". dtype is F32, F16 or BF16; narrowing rounds to nearest even.
func Write(w io.Writer, entries []Entry, dtype DType, metadata map[string]string) error {
	if dtype != F32 && dtype != F16 && dtype != BF16 {
		return fmt.Errorf("safetensors: cannot write dtype %q (want F32, F16 or BF16)", dtype)
	}
	sorted := append([]Entry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	offset := 0
	for i, e := range sorted {
		switch {
		case e.Name == "" || e.Name == "__metadata__" || !utf8.ValidString(e.Name):
			return fmt.Errorf("safetensors: invalid tensor name %q", e.Name)
		case i > 0 && sorted[i-1].Name == e.Name:
			return fmt.Errorf("safetensors: tensor %q given twice", e.Name)
		case e.Tensor == nil:
			return fmt.Errorf("safetensors: tensor %q is nil", e.Name)
		}
		n := 1
		for _, d := range e.Tensor.Shape {
			if d < 0 {
				return fmt.Errorf("safetensors: tensor %q: negative dimension in shape %v", e.Name, e.Tensor.Shape)
			}
			n *= d
		}
		if n != len(e.Tensor.Data) {
			return fmt.Errorf("safetensors: tensor %q: shape %v but %d values", e.Name, e.Tensor.Shape, len(e.Tensor.Data))
		}
		name, _ := json.Marshal(e.Name)
		shape, _ := json.Marshal(e.Tensor.Shape)
		if len(e.Tensor.Shape) == 0 {
			shape = []byte("[]")
		}
		end := offset + n*dtype.size()
		if i > 0 {
			hdr.WriteByte(',')
		}
		fmt.Fprintf(&hdr, `%s:{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}`, name, dtype, shape, offset, end)
		offset = end
	}
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(sorted) > 0 {
			hdr.WriteByte(',')
		}
		hdr.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			kb, _ := json.Marshal(k)
			vb, _ := json.Marshal(metadata[k])
			if i > 0 {
				hdr.WriteByte(',')
			}
			fmt.Fprintf(&hdr, "%s:%s", kb, vb)
		}
		hdr.WriteByte('}')
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(hdr.Len()))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return fmt.Errorf("safetensors: writing header: %w", err)
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return fmt.Errorf("safetensors: writing header: %w", err)
	}
	for _, e := range sorted {
		buf := make([]byte, len(e.Tensor.Data)*dtype.size())
		for i, v := range e.Tensor.Data {
			switch dtype {
			case F32:
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			case F16:
				binary.LittleEndian.PutUint16(buf[2*i:], half.F32ToF16(v))
			case BF16:
				binary.LittleEndian.PutUint16(buf[2*i:], half.F32ToBF16(v))
			}
		}
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("safetensors: writing tensor %q: %w", e.Name, err)
		}
	}
	return nil
}
