//go:build js && wasm

package app

import (
	"strconv"
	"syscall/js"

	"chrysalis/web/engine"
	"chrysalis/web/inbox"
	"chrysalis/web/promise"
)

// Worker files, relative to the page. worker.js starts a Go runtime from the
// compiled module that the page posts to it. worker.wasm is built with
// GOEXPERIMENT=simd and its kernels use WebAssembly SIMD128; browsers without
// SIMD get worker-scalar.wasm, whose scalar kernels compute the same bits.
const (
	workerScript = "static/worker.js"
	workerSIMD   = "static/worker.wasm"
	workerScalar = "static/worker-scalar.wasm"
)

// simdProbe is a module whose one function returns v128.const 0: the
// smallest use of SIMD128, which WebAssembly.validate accepts only where the
// browser supports it.
var simdProbe = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
	0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () -> v128
	0x03, 0x02, 0x01, 0x00, // functions: one of type 0
	0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, // code: no locals, v128.const
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 16 zero bytes
	0x0b, // end
}

// workerWasm picks the worker module this browser can run.
func workerWasm() string {
	probe := js.Global().Get("Uint8Array").New(len(simdProbe))
	js.CopyBytesToJS(probe, simdProbe)
	if js.Global().Get("WebAssembly").Call("validate", probe).Bool() {
		return workerSIMD
	}
	return workerScalar
}

// kindExit is the pool's own message for a worker that died: an uncaught
// error, or a worker module that would not compile.
const kindExit = "exit"

// workerMessage is a message from worker number worker of the pool.
type workerMessage struct {
	worker int
	data   js.Value
}

// pool is the page's Web Workers, each its own Go runtime with the model
// loaded. worker.wasm is compiled once, and the module is posted to each
// worker; the model's files are fetched once, and each worker gets a copy.
// Workers are started as runs need them and kept.
type pool struct {
	inbox   *inbox.Inbox
	wasm    string   // workerSIMD or workerScalar
	module  js.Value // a Promise of the compiled WebAssembly.Module
	workers []js.Value
	listen  []js.Func
	model   string   // the model the workers have, "" while none
	files   js.Value // its files, {name: Uint8Array}, for new workers
}

func newPool(box *inbox.Inbox) *pool {
	p := &pool{inbox: box, wasm: workerWasm()}
	p.module = js.Global().Get("WebAssembly").Call("compileStreaming", js.Global().Call("fetch", p.wasm))
	workOffline(p.wasm)
	return p
}

// spawn starts worker i (a new one, or in place of a dead one).
func (p *pool) spawn(i int) {
	w := js.Global().Get("Worker").New(workerScript)
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		e := args[0]
		if e.Get("type").String() == "message" {
			p.inbox.Post(workerMessage{worker: i, data: e.Get("data")})
			return nil
		}
		e.Call("preventDefault") // reported in the page instead of the console
		p.inbox.Post(workerMessage{worker: i, data: exitMessage(e.Get("message"))})
		return nil
	})
	w.Call("addEventListener", "message", f)
	w.Call("addEventListener", "error", f)
	go func() {
		mod, err := promise.Await(p.module)
		if err != nil {
			p.inbox.Post(workerMessage{worker: i, data: exitMessage(js.ValueOf(p.wasm + ": " + err.Error()))})
			return
		}
		w.Call("postMessage", map[string]any{"kind": "start", "module": mod})
	}()
	for len(p.workers) <= i {
		p.workers = append(p.workers, js.Null())
		p.listen = append(p.listen, js.Func{})
	}
	p.workers[i], p.listen[i] = w, f
	if p.model != "" {
		w.Call("postMessage", p.loadMessage())
	}
}

func exitMessage(reason js.Value) js.Value {
	msg := js.Global().Get("Object").New()
	msg.Set("kind", kindExit)
	msg.Set("error", js.Global().Call("String", reason))
	return msg
}

func (p *pool) loadMessage() map[string]any {
	return map[string]any{"kind": engine.KindLoad, "model": p.model, "files": p.files}
}

// load gives every worker the model, first starting workers up to n (at
// least one, which checks the files).
func (p *pool) load(model string, files map[string]js.Value, n int) {
	obj := js.Global().Get("Object").New()
	for name, data := range files {
		obj.Set(name, data)
	}
	p.model, p.files = model, obj
	for i := range max(n, 1, len(p.workers)) {
		if i >= len(p.workers) || p.workers[i].IsNull() {
			p.spawn(i) // posts the model
			continue
		}
		p.workers[i].Call("postMessage", p.loadMessage())
	}
}

// unload forgets the model (a new one is coming).
func (p *pool) unload() { p.model, p.files = "", js.Undefined() }

// run splits the batch over the first n workers, starting them as needed.
func (p *pool) run(j engine.Job, batch, n int) {
	for i, share := range engine.Split(batch, n) {
		if i >= len(p.workers) || p.workers[i].IsNull() {
			p.spawn(i)
		}
		p.workers[i].Call("postMessage", map[string]any{
			"kind": engine.KindRun, "runId": j.RunID, "scheduler": j.Scheduler, "steps": j.Steps,
			"seed": strconv.FormatUint(j.Seed, 10), "eta": j.Eta, "first": share[0], "count": share[1],
		})
	}
}

// post sends worker i a message, starting it as needed.
func (p *pool) post(i int, msg map[string]any) {
	if i >= len(p.workers) || p.workers[i].IsNull() {
		p.spawn(i)
	}
	p.workers[i].Call("postMessage", msg)
}

// cancel tells every worker to drop run id.
func (p *pool) cancel(id int) {
	for _, w := range p.workers {
		if !w.IsNull() {
			w.Call("postMessage", map[string]any{"kind": engine.KindCancel, "runId": id})
		}
	}
}

// drop ends a worker that failed; the next run starts a new one in its place.
func (p *pool) drop(i int) {
	if i < 0 || i >= len(p.workers) || p.workers[i].IsNull() {
		return
	}
	p.workers[i].Call("terminate")
	p.listen[i].Release()
	p.workers[i] = js.Null()
}
