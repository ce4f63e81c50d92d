//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"strconv"
	"syscall/js"
	"unsafe"

	"chrysalis/web/sampleview"
)

// maxValues bounds every Float32Array a message may carry: one image of the
// largest size the view accepts.
const maxValues = 3 * sampleview.MaxImageSide * sampleview.MaxImageSide

var (
	float32Array = js.Global().Get("Float32Array")
	uint8Array   = js.Global().Get("Uint8Array")
)

// decode copies one protocol message from JS into Go memory.
func decode(data js.Value) (sampleview.Message, error) {
	var m sampleview.Message
	if data.Type() != js.TypeObject || data.Get("kind").Type() != js.TypeString {
		return m, errors.New("viewer: message without a string kind")
	}
	d := decoder{obj: data}
	m.Kind = data.Get("kind").String()
	m.RunID = d.runID()
	switch m.Kind {
	case "run", "preview":
		m.Run = sampleview.Run{
			Batch:         d.int("batch"),
			Channels:      d.int("channels"),
			Height:        d.int("height"),
			Width:         d.int("width"),
			Steps:         d.int("steps"),
			Timesteps:     d.float32s("timesteps"),
			AlphasCumprod: d.float32s("alphasCumprod"),
		}
		if m.Kind == "preview" {
			m.Seed = uint64(d.number("seed"))
			m.Noise = d.float32Arrays("noise")
		}
	case "frame", "scrub":
		m.Frame = sampleview.Frame{
			Step:  d.int("step"),
			Steps: d.int("steps"),
			T:     d.number("t"),
			Image: d.int("image"),
			XT:    d.float32s("xt"),
			X0:    d.float32s("x0"),
		}
	}
	if d.err != nil {
		return m, fmt.Errorf("viewer: %q message: %w", m.Kind, d.err)
	}
	return m, nil
}

// decoder reads fields of one JS object and keeps the first error.
type decoder struct {
	obj js.Value
	err error
}

func (d *decoder) fail(key string, v js.Value, want string) {
	if d.err == nil {
		d.err = fmt.Errorf("field %q: %s: want %s", key, v.Type(), want)
	}
}

func (d *decoder) number(key string) float64 {
	v := d.obj.Get(key)
	if v.Type() != js.TypeNumber {
		d.fail(key, v, "a number")
		return 0
	}
	return v.Float()
}

func (d *decoder) int(key string) int {
	f := d.number(key)
	if f != float64(int32(f)) {
		if d.err == nil {
			d.err = fmt.Errorf("field %q: %v: want an integer", key, f)
		}
		return 0
	}
	return int(f)
}

// runID accepts a number or a string, so that ids compare as text.
func (d *decoder) runID() string {
	v := d.obj.Get("runId")
	switch v.Type() {
	case js.TypeString:
		return v.String()
	case js.TypeNumber:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	}
	d.fail("runId", v, "a number or a string")
	return ""
}

// float32Arrays copies an array of at most sampleview.MaxBatch Float32Arrays.
func (d *decoder) float32Arrays(key string) [][]float32 {
	v := d.obj.Get(key)
	if !v.InstanceOf(js.Global().Get("Array")) {
		d.fail(key, v, "an array")
		return nil
	}
	n := v.Length()
	if n > sampleview.MaxBatch {
		if d.err == nil {
			d.err = fmt.Errorf("field %q: %d arrays: want at most %d", key, n, sampleview.MaxBatch)
		}
		return nil
	}
	out := make([][]float32, n)
	items := decoder{obj: v}
	for i := range out {
		out[i] = items.float32s(strconv.Itoa(i))
	}
	if items.err != nil && d.err == nil {
		d.err = fmt.Errorf("field %q: %w", key, items.err)
	}
	return out
}

// float32s copies a Float32Array with one bulk copy of its bytes (JS typed
// arrays and wasm memory are both little-endian).
func (d *decoder) float32s(key string) []float32 {
	v := d.obj.Get(key)
	if !v.InstanceOf(float32Array) {
		d.fail(key, v, "a Float32Array")
		return nil
	}
	n := v.Get("length").Int()
	if n > maxValues {
		if d.err == nil {
			d.err = fmt.Errorf("field %q: %d values: want at most %d", key, n, maxValues)
		}
		return nil
	}
	out := make([]float32, n)
	if n > 0 {
		src := uint8Array.New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength"))
		js.CopyBytesToGo(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*n), src)
	}
	return out
}
