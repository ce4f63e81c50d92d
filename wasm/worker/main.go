//go:build js && wasm

// Command worker is the sampling engine of one Web Worker
// (static/worker.wasm, started by static/worker.js). The behaviour is in
// web/engine.
package main

import "chrysalis/web/engine"

func main() { engine.Serve() }
