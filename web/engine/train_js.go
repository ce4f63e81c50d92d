//go:build js && wasm

package engine

import (
	"errors"
	"fmt"
	"strconv"
	"syscall/js"
	"unsafe"

	"chrysalis/core/train"
)

// train answers the fine-tuning messages (see the package doc); the work
// goroutine runs them in order with loads and runs.
func (w *worker) train(msg js.Value) {
	kind := msg.Get("kind").String()
	if err := w.trainMessage(kind, msg); err != nil {
		w.post(map[string]any{"kind": KindError, "request": kind, "error": err.Error()})
	}
}

func (w *worker) trainMessage(kind string, msg js.Value) error {
	switch {
	case w.loadErr != nil:
		return fmt.Errorf("the model did not load: %w", w.loadErr)
	case w.engine == nil:
		return errors.New("no model is loaded")
	}
	e := w.engine
	switch kind {
	case KindTrainStart:
		o, err := trainOptions(msg)
		if err != nil {
			return err
		}
		if err := e.TrainStart(o); err != nil {
			return err
		}
		w.ready()
	case KindTrainReset:
		e.TrainReset()
		w.ready()
	case KindTrainStep:
		batch, err := imagesFromJS(msg.Get("images"))
		if err != nil {
			return err
		}
		r, err := e.TrainStep(batch)
		if err != nil {
			return err
		}
		s := e.ImageShape()
		reply := map[string]any{
			"kind": KindTrainStep, "step": r.Step, "loss": r.Loss,
			"shape": []any{len(r.Images), s[0], s[1], s[2]}, "memory": wasmMemory(),
		}
		losses, ts := make([]any, len(r.Images)), make([]any, len(r.Images))
		for i, st := range r.Images {
			losses[i], ts[i] = st.Loss, st.T
		}
		reply["losses"], reply["t"] = losses, ts
		var transfer []any
		for name, v := range StepArrays(r) {
			a := float32Array(v)
			reply[name] = a
			transfer = append(transfer, a.Get("buffer"))
		}
		w.post(reply, transfer...)
	case KindTrainExport:
		files, err := e.TrainFiles()
		if err != nil {
			return err
		}
		jsFiles := js.Global().Get("Object").New()
		var transfer []any
		for name, b := range files {
			a := js.Global().Get("Uint8Array").New(len(b))
			js.CopyBytesToJS(a, b)
			jsFiles.Set(name, a)
			transfer = append(transfer, a.Get("buffer"))
		}
		w.post(map[string]any{"kind": KindTrainFiles, "files": jsFiles}, transfer...)
	}
	return nil
}

func (w *worker) ready() {
	s := w.engine.ImageShape()
	w.post(map[string]any{"kind": KindTrainReady, "training": w.engine.Training(), "shape": []any{s[0], s[1], s[2]}})
}

// trainOptions reads train-start's options; a missing one keeps its
// default (train.DefaultFineTuneOptions).
func trainOptions(msg js.Value) (TrainOptions, error) {
	o := train.DefaultFineTuneOptions()
	num := func(name string, dst *float64) {
		if v := msg.Get(name); v.Type() == js.TypeNumber {
			*dst = v.Float()
		}
	}
	num("lr", &o.LR)
	num("weightDecay", &o.WeightDecay)
	num("clipNorm", &o.ClipNorm)
	if v := msg.Get("flip"); v.Type() == js.TypeBoolean {
		o.Flip = v.Bool()
	}
	if v := msg.Get("seed"); v.Type() == js.TypeString {
		seed, err := strconv.ParseUint(v.String(), 10, 64)
		if err != nil {
			return o, fmt.Errorf("seed %q: want a decimal string", v.String())
		}
		o.Seed = seed
	}
	return o, nil
}

// imagesFromJS reads a batch: one Float32Array (NCHW over the batch) or an
// array of Float32Arrays (one [C,H,W] image each).
func imagesFromJS(v js.Value) ([]float32, error) {
	f32 := js.Global().Get("Float32Array")
	if v.InstanceOf(f32) {
		return float32sFromJS(v), nil
	}
	if !js.Global().Get("Array").Call("isArray", v).Bool() {
		return nil, errors.New("train-step: images must be a Float32Array or an array of them")
	}
	var out []float32
	for i := range v.Length() {
		a := v.Index(i)
		if !a.InstanceOf(f32) {
			return nil, fmt.Errorf("train-step: image %d is not a Float32Array", i)
		}
		out = append(out, float32sFromJS(a)...)
	}
	return out, nil
}

// float32sFromJS copies a Float32Array into Go.
func float32sFromJS(a js.Value) []float32 {
	n := a.Get("length").Int()
	out := make([]float32, n)
	if n > 0 {
		b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), 4*n)
		js.CopyBytesToGo(b, js.Global().Get("Uint8Array").New(a.Get("buffer"), a.Get("byteOffset"), a.Get("byteLength")))
	}
	return out
}
