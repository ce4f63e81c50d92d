package pytorch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"

	"chrysalis/core/internal/half"
	"chrysalis/core/tensor"
)

// legacyMagic starts a pre-1.6 torch.save file: the pickled magic number
// 0x1950a86a20f9469cfc6c (PROTO 2, LONG1 of 10 bytes).
var legacyMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// Load reads a torch.save zip checkpoint holding a state dict and returns its
// tensors as float32, materialised row-major whatever their strides.
// Storages may be FloatStorage, HalfStorage, BFloat16Storage (widened
// exactly) or DoubleStorage (rounded to nearest). A {"state_dict": {...}}
// wrapper is unwrapped, and nested dicts are flattened by joining keys with
// "." as torch's module state dicts do. Any value that is not a float
// tensor or a dict is an error naming its key.
func Load(data []byte) (map[string]*tensor.Tensor, error) {
	if bytes.HasPrefix(data, legacyMagic) {
		return nil, fmt.Errorf("pytorch: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save the checkpoint with torch >= 1.6")
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("pytorch: not a torch.save zip checkpoint: %v", err)
	}
	a, err := openArchive(data, zr)
	if err != nil {
		return nil, err
	}
	root, err := a.unpickle()
	if err != nil {
		return nil, err
	}
	return a.stateDict(root)
}

// archive is an opened checkpoint: its records by name below the
// "<name>/" prefix, and the storages the pickle has referenced so far.
type archive struct {
	data     []byte
	prefix   string
	records  map[string]*zip.File
	storages map[string]*storage
	budget   int // float32 elements left to allocate: views can repeat storage elements (stride 0)
}

func openArchive(data []byte, zr *zip.Reader) (*archive, error) {
	a := &archive{data: data, records: map[string]*zip.File{}, storages: map[string]*storage{}, budget: len(data)}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/data.pkl") && strings.Count(f.Name, "/") == 1 {
			if a.prefix != "" {
				return nil, fmt.Errorf("pytorch: zip holds two pickles, %sdata.pkl and %s", a.prefix, f.Name)
			}
			a.prefix = strings.TrimSuffix(f.Name, "data.pkl")
		}
	}
	if a.prefix == "" {
		return nil, fmt.Errorf("pytorch: zip has no <name>/data.pkl record: not a torch.save checkpoint")
	}
	for _, f := range zr.File {
		if name, ok := strings.CutPrefix(f.Name, a.prefix); ok {
			a.records[name] = f
		}
	}
	if _, ok := a.records["constants.pkl"]; ok {
		return nil, fmt.Errorf("pytorch: TorchScript archives (torch.jit.save) are not supported; save the state_dict with torch.save")
	}
	if f, ok := a.records["byteorder"]; ok {
		order, err := a.read(f, 16)
		if err != nil {
			return nil, err
		}
		if string(order) != "little" {
			return nil, fmt.Errorf("pytorch: byteorder %q is not supported (want little)", order)
		}
	}
	return a, nil
}

// read returns a whole record, decompressed, of at most limit bytes.
func (a *archive) read(f *zip.File, limit int) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("pytorch: zip record %q: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("pytorch: zip record %q: %v", f.Name, err)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("pytorch: zip record %q is larger than %d bytes", f.Name, limit)
	}
	return b, nil
}

// unpickle runs data.pkl through gopickle after checkPickle has vetted it.
func (a *archive) unpickle() (root interface{}, err error) {
	pkl, err := a.read(a.records["data.pkl"], maxPickleSize)
	if err != nil {
		return nil, err
	}
	if err := checkPickle(pkl); err != nil {
		return nil, fmt.Errorf("pytorch: %sdata.pkl: %v", a.prefix, err)
	}
	defer func() {
		if r := recover(); r != nil { // gopickle panics on some malformed pickles (unhashable dict keys)
			root, err = nil, fmt.Errorf("pytorch: %sdata.pkl: malformed pickle: %v", a.prefix, r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(pkl))
	u.FindClass = findClass
	u.PersistentLoad = a.persistentLoad
	root, err = u.Load()
	if err != nil {
		return nil, fmt.Errorf("pytorch: %sdata.pkl: %v", a.prefix, err)
	}
	return root, nil
}

// dtype is a torch storage class.
type dtype struct {
	name  string // e.g. "HalfStorage"
	torch string // e.g. "float16"
	size  int    // bytes per element
	// at reads float element i of raw as float32; nil for integer types.
	at func(raw []byte, i int) float32
}

// storageClasses are the torch.<X>Storage classes. F32, F16 and BF16 widen
// exactly; F64 rounds to nearest.
var storageClasses = map[string]*dtype{}

func init() {
	for _, d := range []dtype{
		{"FloatStorage", "float32", 4, func(raw []byte, i int) float32 {
			return math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}},
		{"HalfStorage", "float16", 2, func(raw []byte, i int) float32 {
			return half.F16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}},
		{"BFloat16Storage", "bfloat16", 2, func(raw []byte, i int) float32 {
			return half.BF16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}},
		{"DoubleStorage", "float64", 8, func(raw []byte, i int) float32 {
			return float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}},
		{"LongStorage", "int64", 8, nil}, {"IntStorage", "int32", 4, nil},
		{"ShortStorage", "int16", 2, nil}, {"CharStorage", "int8", 1, nil},
		{"ByteStorage", "uint8", 1, nil}, {"BoolStorage", "bool", 1, nil},
	} {
		storageClasses[d.name] = &d
	}
}

// findClass resolves the globals a state dict pickle uses (collections.OrderedDict
// is built into gopickle); anything else is an error naming it.
func findClass(module, name string) (interface{}, error) {
	switch {
	case module == "torch._utils" && name == "_rebuild_tensor_v2":
		return rebuildTensor{}, nil
	case module == "torch._utils" && name == "_rebuild_parameter":
		return rebuildParameter{}, nil
	case module == "torch" && storageClasses[name] != nil:
		return storageClasses[name], nil
	}
	return nil, fmt.Errorf("pickle refers to %s.%s, which is not part of a tensor state dict", module, name)
}

// storage is one zip record of raw little-endian elements.
type storage struct {
	key   string
	dtype *dtype
	numel int
	raw   []byte // a slice of the checkpoint's bytes
}

// persistentLoad resolves ("storage", class, key, location, numel) to the
// record data/<key>, checking that it is stored uncompressed, lies inside the
// file and holds exactly numel elements.
func (a *archive) persistentLoad(id interface{}) (interface{}, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() != 5 || t.Get(0) != "storage" {
		return nil, fmt.Errorf("persistent id %v is not (\"storage\", class, key, location, numel)", describe(id))
	}
	dt, ok1 := t.Get(1).(*dtype)
	key, ok2 := t.Get(2).(string)
	numel, ok3 := t.Get(4).(int)
	if !ok1 || !ok2 || !ok3 || numel < 0 {
		return nil, fmt.Errorf("persistent id (%s, %s, %s, %s, %s) is not (\"storage\", class, key, location, numel)",
			describe(t.Get(0)), describe(t.Get(1)), describe(t.Get(2)), describe(t.Get(3)), describe(t.Get(4)))
	}
	if s, ok := a.storages[key]; ok {
		if s.dtype != dt || s.numel != numel {
			return nil, fmt.Errorf("storage %q is referenced as both %s[%d] and %s[%d]", key, s.dtype.name, s.numel, dt.name, numel)
		}
		return s, nil
	}
	name := "data/" + key
	f, ok := a.records[name]
	if !ok {
		return nil, fmt.Errorf("storage %q: zip record %q missing", key, a.prefix+name)
	}
	if f.Method != zip.Store || f.CompressedSize64 != f.UncompressedSize64 {
		return nil, fmt.Errorf("storage %q: zip record %q is compressed (method %d); torch.save stores records uncompressed", key, f.Name, f.Method)
	}
	off, err := f.DataOffset()
	if err != nil {
		return nil, fmt.Errorf("storage %q: zip record %q: %v", key, f.Name, err)
	}
	size := f.UncompressedSize64
	if off < 0 || uint64(off) > uint64(len(a.data)) || size > uint64(len(a.data))-uint64(off) {
		return nil, fmt.Errorf("storage %q: zip record %q of %d bytes past end of file", key, f.Name, size)
	}
	if uint64(numel) > size/uint64(dt.size) || uint64(numel)*uint64(dt.size) != size {
		return nil, fmt.Errorf("storage %q: zip record %q holds %d bytes, but %s of %d elements needs %d",
			key, f.Name, size, dt.name, numel, uint64(numel)*uint64(dt.size))
	}
	s := &storage{key: key, dtype: dt, numel: numel, raw: a.data[off : off+int64(size)]}
	a.storages[key] = s
	return s, nil
}

// view is a tensor as the pickle describes it: storage[offset + Σ i_j·stride_j].
type view struct {
	storage *storage
	offset  int
	size    []int
	stride  []int
}

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, storage_offset,
// size, stride, requires_grad, backward_hooks[, metadata]).
type rebuildTensor struct{}

func (rebuildTensor) Call(args ...interface{}) (interface{}, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 called with %d arguments, want at least 4", len(args))
	}
	s, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: first argument %s is not a storage", describe(args[0]))
	}
	offset, ok := args[1].(int)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage offset %s is not an int", describe(args[1]))
	}
	size, err := ints(args[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := ints(args[3], "stride")
	if err != nil {
		return nil, err
	}
	return &view{storage: s, offset: offset, size: size, stride: stride}, nil
}

// rebuildParameter is torch._utils._rebuild_parameter(data, requires_grad,
// backward_hooks): an nn.Parameter, which is its data.
type rebuildParameter struct{}

func (rebuildParameter) Call(args ...interface{}) (interface{}, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("_rebuild_parameter called without arguments")
	}
	return args[0], nil
}

func ints(v interface{}, what string) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %s %s is not a tuple", what, describe(v))
	}
	out := make([]int, t.Len())
	for i := range out {
		if out[i], ok = t.Get(i).(int); !ok {
			return nil, fmt.Errorf("_rebuild_tensor_v2: %s element %s is not an int", what, describe(t.Get(i)))
		}
	}
	return out, nil
}

// describe names a pickled value's type briefly (values can be huge).
func describe(v interface{}) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("%q", v)
	case int, bool, float64, nil:
		return fmt.Sprint(v)
	case *dtype:
		return "torch." + v.name
	}
	return fmt.Sprintf("a %T", v)
}

// maxDepth bounds dict nesting.
const maxDepth = 16

// stateDict unwraps {"state_dict": ...}, flattens nested dicts with dots and
// materialises every tensor.
func (a *archive) stateDict(root interface{}) (map[string]*tensor.Tensor, error) {
	items, ok := dictItems(root)
	if !ok {
		return nil, fmt.Errorf("pytorch: checkpoint holds %s, not a state dict", describe(root))
	}
	for _, it := range items {
		if it.Key == "state_dict" {
			if _, ok := dictItems(it.Value); ok {
				root = it.Value
			}
		}
	}
	out := map[string]*tensor.Tensor{}
	if err := a.flatten(root, "", 0, map[interface{}]bool{}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// flatten adds the tensors of dict d under prefix. seen holds the dicts
// visited so far: a pickle can reference one dict many times (or from
// inside itself), which would make the walk exponential.
func (a *archive) flatten(d interface{}, prefix string, depth int, seen map[interface{}]bool, out map[string]*tensor.Tensor) error {
	key := strings.TrimSuffix(prefix, ".")
	if depth > maxDepth {
		return fmt.Errorf("pytorch: key %q: dicts nested deeper than %d", key, maxDepth)
	}
	if seen[d] {
		return fmt.Errorf("pytorch: key %q: the same dict appears twice in the state dict", key)
	}
	seen[d] = true
	items, _ := dictItems(d)
	for _, it := range items {
		k, ok := it.Key.(string)
		if !ok {
			return fmt.Errorf("pytorch: state dict key %s is not a string", describe(it.Key))
		}
		name := prefix + k
		if _, ok := dictItems(it.Value); ok {
			if err := a.flatten(it.Value, name+".", depth+1, seen, out); err != nil {
				return err
			}
			continue
		}
		v, ok := it.Value.(*view)
		if !ok {
			return fmt.Errorf("pytorch: key %q: %s is not a tensor", name, describe(it.Value))
		}
		if _, dup := out[name]; dup {
			return fmt.Errorf("pytorch: key %q appears twice", name)
		}
		t, err := a.materialize(v)
		if err != nil {
			return fmt.Errorf("pytorch: tensor %q: %v", name, err)
		}
		out[name] = t
	}
	return nil
}

// dictItems lists a pickled dict or OrderedDict in order.
func dictItems(v interface{}) ([]types.DictEntry, bool) {
	switch d := v.(type) {
	case *types.Dict:
		return *d, true
	case *types.OrderedDict:
		items := make([]types.DictEntry, 0, d.Len())
		for e := d.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			items = append(items, types.DictEntry{Key: entry.Key, Value: entry.Value})
		}
		return items, true
	}
	return nil, false
}

// materialize copies a view into a row-major float32 tensor after checking
// that every element it addresses lies inside its storage.
func (a *archive) materialize(v *view) (*tensor.Tensor, error) {
	s := v.storage
	if s.dtype.at == nil {
		return nil, fmt.Errorf("storage %q is torch.%s (%s), not a float type", s.key, s.dtype.name, s.dtype.torch)
	}
	if len(v.size) != len(v.stride) {
		return nil, fmt.Errorf("size %v and stride %v differ in length", v.size, v.stride)
	}
	if v.offset < 0 {
		return nil, fmt.Errorf("negative storage offset %d", v.offset)
	}
	numel := 1
	for i, n := range v.size {
		if n < 0 || v.stride[i] < 0 {
			return nil, fmt.Errorf("size %v, stride %v: negative entry", v.size, v.stride)
		}
		if n != 0 && numel > a.budget/n {
			return nil, fmt.Errorf("size %v: views expand to more elements than the file has bytes", v.size)
		}
		numel *= n
	}
	if numel > 0 {
		last := v.offset // the largest storage index the view reaches
		for i, n := range v.size {
			if v.stride[i] > 0 && n-1 > (math.MaxInt-last)/v.stride[i] {
				return nil, fmt.Errorf("size %v, stride %v, offset %d overflow", v.size, v.stride, v.offset)
			}
			last += (n - 1) * v.stride[i]
		}
		if last >= s.numel {
			return nil, fmt.Errorf("view (offset %d, size %v, stride %v) reaches element %d of storage %q, which has %d",
				v.offset, v.size, v.stride, last, s.key, s.numel)
		}
	}
	a.budget -= numel
	out := make([]float32, numel)
	idx := make([]int, len(v.size))
	pos := v.offset
	for i := range out {
		out[i] = s.dtype.at(s.raw, pos)
		for d := len(idx) - 1; d >= 0; d-- { // advance the row-major multi-index
			idx[d]++
			pos += v.stride[d]
			if idx[d] < v.size[d] {
				break
			}
			pos -= v.stride[d] * v.size[d]
			idx[d] = 0
		}
	}
	return tensor.From(out, v.size...), nil
}
