// Command goldens copies diffusers' reference outputs into the repository's
// test data, leaving out what the tests can regenerate, so that a bare clone
// carries every golden its tests read:
//
//	go run ./cmd/goldens -from DIR -to core/golden/testdata/diffusers
//
// DIR is the reference folder made by running diffusers v0.31.0 (its
// README.md, copied as REFERENCE.md, says how). Left out, and why:
//   - unet_tiny/legacy_keys.safetensors: the same bytes as
//     diffusion_pytorch_model.safetensors under the 2022 names that keys.txt
//     lists; golden.LegacyWeights renames them back (checked when copying).
//   - schedulers/*: every model_outputs trace, which the traces' stand-in
//     model 0.5·x + float32(0.1·sin t) gives bit for bit from the stored
//     inputs, and the step traces of n=50 (their timesteps and σ's stay):
//     n=50 runs the same code as n=25 with the same spacings, and takes half
//     of the traces' bytes.
//
// Everything else is copied byte for byte.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
)

func main() {
	from := flag.String("from", "", "diffusers reference folder (required)")
	to := flag.String("to", "", "destination folder (required)")
	flag.Parse()
	if *from == "" || *to == "" {
		fmt.Fprintln(os.Stderr, "goldens: -from and -to are required")
		os.Exit(2)
	}
	if err := run(*from, *to); err != nil {
		fmt.Fprintln(os.Stderr, "goldens:", err)
		os.Exit(1)
	}
}

func run(from, to string) error {
	if err := checkLegacy(from); err != nil {
		return err
	}
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		switch {
		case rel == "unet_tiny/legacy_keys.safetensors":
			return nil
		case rel == "README.md":
			rel = "REFERENCE.md"
		case strings.HasPrefix(rel, "schedulers/") && strings.HasSuffix(rel, ".safetensors"):
			if err := checkModelOutputs(data); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			if data, err = subset(data, keepSchedulerTensor); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		dst := filepath.Join(to, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}

// keepSchedulerTensor drops model_outputs and the step traces of n=50.
func keepSchedulerTensor(name string) bool {
	last := name[strings.LastIndexByte(name, '/')+1:]
	if last == "model_outputs" {
		return false
	}
	if strings.Contains(name, "/n50/") {
		return last == "timesteps" || last == "sigmas" || last == "init_noise_sigma"
	}
	return true
}

// checkModelOutputs confirms that every model_outputs trace of a scheduler
// file is the stand-in model 0.5·x + float32(0.1·sin t) of the step's model
// input (model_inputs where stored, else samples), bit for bit.
func checkModelOutputs(data []byte) error {
	f, err := safetensors.Parse(data)
	if err != nil {
		return err
	}
	for _, name := range f.Names() {
		prefix, ok := strings.CutSuffix(name, "/model_outputs")
		if !ok {
			continue
		}
		input := prefix + "/samples"
		if _, ok := f.Info(prefix + "/model_inputs"); ok {
			input = prefix + "/model_inputs"
		}
		out, errO := f.Tensor(name)
		in, errI := f.Tensor(input)
		ts, _, errT := f.Float64s(prefix + "/timesteps")
		if errT != nil {
			var ints []int64
			ints, _, errT = f.Int64s(prefix + "/timesteps")
			for _, v := range ints {
				ts = append(ts, float64(v))
			}
		}
		if err := errors.Join(errO, errI, errT); err != nil {
			return err
		}
		per := len(out.Data) / len(ts)
		for i, v := range out.Data {
			c := float32(0.1 * math.Sin(ts[i/per]))
			if want := float32(0.5*in.Data[i]) + c; math.Float32bits(v) != math.Float32bits(want) {
				return fmt.Errorf("%s[%d] = %v, but the stand-in model gives %v", name, i, v, want)
			}
		}
	}
	return nil
}

// subset rewrites a safetensors file with only the tensors keep accepts: the
// same dtypes, shapes, bytes and metadata, in sorted order with no gaps.
func subset(data []byte, keep func(string) bool) ([]byte, error) {
	f, err := safetensors.Parse(data)
	if err != nil {
		return nil, err
	}
	start := 8 + int(binary.LittleEndian.Uint64(data))
	var hdr, body bytes.Buffer
	hdr.WriteByte('{')
	for _, name := range f.Names() {
		if !keep(name) {
			continue
		}
		info, _ := f.Info(name)
		shape := strings.ReplaceAll(fmt.Sprint(info.Shape), " ", ",")
		fmt.Fprintf(&hdr, "%q:{\"dtype\":%q,\"shape\":%s,\"data_offsets\":[%d,%d]},",
			name, info.DType, shape, body.Len(), body.Len()+info.End-info.Begin)
		body.Write(data[start+info.Begin : start+info.End])
	}
	hdr.WriteString(`"__metadata__":{`)
	for i, k := range slices.Sorted(maps.Keys(f.Metadata)) {
		if i > 0 {
			hdr.WriteByte(',')
		}
		fmt.Fprintf(&hdr, "%q:%q", k, f.Metadata[k])
	}
	hdr.WriteString("}}")
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(hdr.Len()))
	out = append(append(out, hdr.Bytes()...), body.Bytes()...)
	if _, err := safetensors.Parse(out); err != nil {
		return nil, fmt.Errorf("rewritten file does not parse: %w", err)
	}
	return out, nil
}

// checkLegacy confirms that legacy_keys.safetensors holds exactly the
// weights of diffusion_pytorch_model.safetensors under keys.txt's legacy
// names, so that leaving it out loses nothing.
func checkLegacy(from string) error {
	open := func(name string) (*safetensors.File, error) {
		return safetensors.ReadFile(filepath.Join(from, "unet_tiny", name))
	}
	cur, err := open("diffusion_pytorch_model.safetensors")
	if err != nil {
		return err
	}
	legacy, err := open("legacy_keys.safetensors")
	if err != nil {
		return err
	}
	keys, err := os.Open(filepath.Join(from, "unet_tiny", "keys.txt"))
	if err != nil {
		return err
	}
	defer keys.Close()
	n := 0
	sc := bufio.NewScanner(keys)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if strings.HasPrefix(sc.Text(), "#") || len(fields) != 3 {
			continue
		}
		a, errA := cur.Tensor(fields[0])
		b, errB := legacy.Tensor(fields[2])
		if err := errors.Join(errA, errB); err != nil {
			return err
		}
		if !sameBits(a, b) {
			return fmt.Errorf("legacy tensor %q differs from %q", fields[2], fields[0])
		}
		n++
	}
	if n != len(legacy.Names()) {
		return fmt.Errorf("keys.txt maps %d tensors, legacy_keys.safetensors has %d", n, len(legacy.Names()))
	}
	return sc.Err()
}

func sameBits(a, b *tensor.Tensor) bool {
	return slices.Equal(a.Shape, b.Shape) && slices.EqualFunc(a.Data, b.Data, func(x, y float32) bool {
		return math.Float32bits(x) == math.Float32bits(y)
	})
}
