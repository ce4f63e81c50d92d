//go:build js && wasm

package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall/js"
	"unsafe"

	"chrysalis/core/pipeline"
	"chrysalis/web/inbox"
)

// memoryLimit is the worker's soft Go memory limit (runtime/debug).
const memoryLimit = 112 << 20

// Serve runs the worker: it takes the messages that arrived while the Go
// runtime started (worker.js queues them), then every later one, and never
// returns. Loads and runs are done one at a time in arrival order; a cancel
// takes effect at once, and a run sees it at its next step.
func Serve() {
	// WebAssembly memory never shrinks, so the heap is bounded: the model
	// (its weights, their packed copies and a run's activations) needs about
	// 100 MiB for butterflies-32, and without a limit GOGC lets the heap grow
	// towards twice the live data.
	debug.SetMemoryLimit(memoryLimit)
	self := js.Global()
	messages := inbox.New()
	self.Set("onmessage", js.FuncOf(func(_ js.Value, args []js.Value) any {
		messages.Post(args[0].Get("data"))
		return nil
	}))
	queued := self.Call("takeQueued")
	for i := range queued.Length() {
		messages.Post(queued.Index(i).Get("data"))
	}

	w := &worker{self: self, yield: newYielder(), jobs: inbox.New(), cancelled: map[int]bool{}}
	go w.work()
	for range messages.Ready() {
		for _, m := range messages.Take() {
			msg := m.(js.Value)
			if msg.Get("kind").String() == KindCancel {
				w.cancel(msg.Get("runId").Int())
				continue
			}
			w.jobs.Post(msg)
		}
	}
}

// worker holds the state of one worker; loads and runs happen on the work
// goroutine, cancels on Serve's.
type worker struct {
	self    js.Value
	yield   *yielder
	jobs    *inbox.Inbox
	engine  *Engine
	loadErr error // why the last load failed

	mu        sync.Mutex
	running   int                // the run in progress, 0 when none
	stop      context.CancelFunc // cancels it
	cancelled map[int]bool       // runs cancelled before they started
}

func (w *worker) cancel(runID int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if runID == w.running {
		w.stop()
		return
	}
	w.cancelled[runID] = true
}

// begin registers run runID as running, unless it was cancelled already.
func (w *worker) begin(runID int, stop context.CancelFunc) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	skip := w.cancelled[runID]
	for id := range w.cancelled {
		if id <= runID {
			delete(w.cancelled, id)
		}
	}
	if skip {
		return false
	}
	w.running, w.stop = runID, stop
	return true
}

func (w *worker) end() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running, w.stop = 0, nil
}

func (w *worker) work() {
	for range w.jobs.Ready() {
		for _, m := range w.jobs.Take() {
			msg := m.(js.Value)
			switch msg.Get("kind").String() {
			case KindLoad:
				w.load(msg)
			case KindRun:
				w.run(msg)
			case KindTrainStart, KindTrainReset, KindTrainStep, KindTrainExport:
				w.train(msg)
			}
		}
	}
}

func (w *worker) post(msg map[string]any, transfer ...any) {
	w.self.Call("postMessage", msg, transfer)
}

func (w *worker) load(msg js.Value) {
	model := msg.Get("model").String()
	jsFiles := msg.Get("files")
	keys := js.Global().Get("Object").Call("keys", jsFiles)
	files := map[string][]byte{}
	for i := range keys.Length() {
		name := keys.Index(i).String()
		v := jsFiles.Get(name)
		b := make([]byte, v.Get("length").Int())
		js.CopyBytesToGo(b, v)
		files[name] = b
	}
	w.engine, w.loadErr = Load(files)
	reply := map[string]any{"kind": KindLoaded, "model": model}
	if w.loadErr != nil {
		reply["error"] = w.loadErr.Error()
	} else {
		w.engine.Warm()
	}
	w.post(reply)
}

func (w *worker) run(msg js.Value) {
	seed, err := strconv.ParseUint(msg.Get("seed").String(), 10, 64)
	j := Job{
		RunID:     msg.Get("runId").Int(),
		Scheduler: msg.Get("scheduler").String(),
		Steps:     msg.Get("steps").Int(),
		Seed:      seed,
		Eta:       msg.Get("eta").Float(),
		First:     msg.Get("first").Int(),
		Count:     msg.Get("count").Int(),
	}
	switch {
	case err != nil:
		w.fail(j.RunID, err)
		return
	case w.loadErr != nil:
		w.fail(j.RunID, fmt.Errorf("the model did not load: %w", w.loadErr))
		return
	case w.engine == nil:
		w.fail(j.RunID, errors.New("no model is loaded"))
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if !w.begin(j.RunID, stop) {
		return
	}
	defer w.end()

	err = w.engine.Run(ctx, j, func(image int, f pipeline.Frame) {
		xt := float32Array(f.Sample.Data)
		x0 := float32Array(f.PredOriginal.Data)
		w.post(map[string]any{
			"kind": KindFrame, "runId": j.RunID, "step": f.Index, "steps": f.Steps,
			"t": float64(f.Timestep), "image": image, "xt": xt, "x0": x0,
		}, xt.Get("buffer"), x0.Get("buffer"))
		// Let the worker's event loop deliver a cancel before the next step.
		w.yield.yield()
	})
	switch {
	case errors.Is(err, context.Canceled):
	case err != nil:
		w.fail(j.RunID, err)
	default:
		w.post(map[string]any{"kind": KindDone, "runId": j.RunID, "memory": wasmMemory()})
	}
}

func (w *worker) fail(runID int, err error) {
	w.post(map[string]any{"kind": KindError, "runId": runID, "error": err.Error()})
}

// wasmMemory is the size of this worker's wasm linear memory (worker.js
// keeps the instance's memory as self.wasmMemory).
func wasmMemory() int {
	m := js.Global().Get("wasmMemory")
	if !m.Truthy() {
		return 0
	}
	return m.Get("buffer").Get("byteLength").Int()
}

// float32Array copies v into a new Float32Array.
func float32Array(v []float32) js.Value {
	a := js.Global().Get("Float32Array").New(len(v))
	if len(v) > 0 {
		b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
		js.CopyBytesToJS(js.Global().Get("Uint8Array").New(a.Get("buffer")), b)
	}
	return a
}

// yielder hands control to the JavaScript event loop and back, through a
// MessageChannel (a task, so pending messages run first, and no timer
// clamping).
type yielder struct {
	port js.Value
	back chan struct{}
}

func newYielder() *yielder {
	y := &yielder{back: make(chan struct{}, 1)}
	mc := js.Global().Get("MessageChannel").New()
	mc.Get("port1").Set("onmessage", js.FuncOf(func(js.Value, []js.Value) any {
		y.back <- struct{}{}
		return nil
	}))
	y.port = mc.Get("port2")
	return y
}

func (y *yielder) yield() {
	y.port.Call("postMessage", nil)
	<-y.back
}
