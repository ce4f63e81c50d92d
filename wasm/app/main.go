//go:build js && wasm

// Command app is the demo page's main thread (static/app.wasm): the controls,
// the worker pool and the link to the viewer. The behaviour is in web/app.
package main

import "chrysalis/web/app"

func main() { app.Main() }
