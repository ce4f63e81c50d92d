//go:build js && wasm

package app

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall/js"

	"chrysalis/core/tensor"
	"chrysalis/core/train"
	"chrysalis/web/engine"
	"chrysalis/web/promise"
	"chrysalis/web/settings"
)

// The train view's side of the runner: it decodes the chosen files, feeds
// worker 0 its batches and turns its answers into messages.

// readImages decodes the files of a FileList as `chrysalis train` reads a
// folder (train.DecodeImage), in name order: for the train view's batches,
// or as the forward view's x₀ (at most settings.MaxBatch of them).
func (r *runner) readImages(files js.Value, forward bool) {
	n := files.Get("length").Int()
	if n == 0 {
		return
	}
	if !forward {
		r.state.Training.Reading = true
	}
	c, h, w := r.config.InChannels, r.config.SampleSize[0], r.config.SampleSize[1]
	go func() {
		type named struct {
			name string
			x    *tensor.Tensor
		}
		var imgs []named
		var errs []error
		for i := range n {
			f := files.Index(i)
			name := f.Get("name").String()
			buf, err := promise.Await(f.Call("arrayBuffer"))
			var x *tensor.Tensor
			if err == nil {
				x, err = train.DecodeImage(goBytes(js.Global().Get("Uint8Array").New(buf)), c, h, w)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				continue
			}
			imgs = append(imgs, named{name, x})
		}
		slices.SortFunc(imgs, func(a, b named) int { return strings.Compare(a.name, b.name) })
		read := imagesRead{forward: forward}
		for _, im := range imgs {
			read.images = append(read.images, im.x)
		}
		if err := errors.Join(errs...); err != nil {
			read.err = fmt.Errorf("%d of %d files could not be read as images: %w", len(errs), n, err)
		}
		r.inbox.Post(read)
	}()
}

// imagesRead is the end of readImages, for the runner's goroutine.
type imagesRead struct {
	forward bool
	images  []*tensor.Tensor
	err     error
}

func (r *runner) imagesRead(m imagesRead) {
	if m.forward {
		r.update(ownImages(m.images, m.err))
		return
	}
	if len(m.images) > 0 {
		r.trainImages = m.images
	}
	r.update(TrainImages{N: len(r.trainImages), Err: m.err})
}

// ownImages stacks the forward view's chosen images into [B,C,H,W].
func ownImages(images []*tensor.Tensor, err error) OwnImages {
	if len(images) > settings.MaxBatch {
		images = images[:settings.MaxBatch]
		err = errors.Join(err, fmt.Errorf("only the first %d images are used", settings.MaxBatch))
	}
	if len(images) == 0 {
		return OwnImages{Err: err}
	}
	shape := images[0].Shape
	x := tensor.New(len(images), shape[0], shape[1], shape[2])
	per := len(images[0].Data)
	for i, im := range images {
		copy(x.Data[i*per:], im.Data)
	}
	return OwnImages{X: x, Err: err}
}

// trainNext sends worker 0 the next step's batch (starting the session first).
func (r *runner) trainNext(c TrainNext) {
	if c.Start {
		r.pool.post(0, map[string]any{"kind": engine.KindTrainStart, "seed": strconv.FormatUint(c.Seed, 10)})
	}
	n := len(r.trainImages)
	if n == 0 {
		r.update(TrainFailed{Err: "no images"})
		return
	}
	batch := make([]any, 0, c.Batch)
	for _, i := range trainBatch(c.Step, c.Batch, n) {
		batch = append(batch, float32Array(r.trainImages[i].Data))
	}
	r.pool.post(0, map[string]any{"kind": engine.KindTrainStep, "images": batch})
}

// trainMessage turns worker 0's answers into messages.
func (r *runner) trainMessage(d js.Value) {
	switch d.Get("kind").String() {
	case engine.KindTrainStep:
		shape := d.Get("shape")
		b := shape.Index(0).Int()
		dims := []int{b, shape.Index(1).Int(), shape.Index(2).Int(), shape.Index(3).Int()}
		m := TrainStepped{Step: d.Get("step").Int(), Loss: d.Get("loss").Float(), Stages: map[string]*tensor.Tensor{}}
		for i := range b {
			m.Losses = append(m.Losses, d.Get("losses").Index(i).Float())
			m.T = append(m.T, d.Get("t").Index(i).Int())
		}
		for _, st := range trainStages {
			x := tensor.New(dims...)
			copyFloat32s(x.Data, d.Get(st.Name))
			m.Stages[st.Name] = x
		}
		r.update(m)
	case engine.KindTrainFiles:
		url, err := r.zipFiles(d.Get("files"))
		r.update(TrainExported{URL: url, Err: err})
	case engine.KindError:
		r.update(TrainFailed{Err: d.Get("error").String()})
	}
}

// zipFiles packs the exported folder into a zip, as an object URL.
func (r *runner) zipFiles(files js.Value) (string, error) {
	keys := js.Global().Get("Object").Call("keys", files)
	var names []string
	for i := range keys.Length() {
		names = append(names, keys.Index(i).String())
	}
	slices.Sort(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range names {
		f, err := zw.Create("chrysalis-fine-tuned/" + name)
		if err == nil {
			_, err = f.Write(goBytes(files.Get(name)))
		}
		if err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	if r.trainURL != "" {
		js.Global().Get("URL").Call("revokeObjectURL", r.trainURL)
	}
	r.trainURL = objectURL(buf.Bytes(), "application/zip")
	return r.trainURL, nil
}
