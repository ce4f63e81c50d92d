//go:build js && wasm

package app

import (
	"strings"
	"syscall/js"

	"chrysalis/web/promise"
)

// workOffline registers sw.js, the service worker that keeps the site for
// offline use, telling it which worker module this browser runs. Where
// there are no service workers (an insecure origin, a private window in
// some browsers) the demo works online only, and the console says why.
func workOffline(workerWasm string) {
	sw := js.Global().Get("navigator").Get("serviceWorker")
	if !sw.Truthy() {
		js.Global().Get("console").Call("info", "chrysalis: no service worker here, so the demo needs the network")
		return
	}
	script := "sw.js?worker=" + strings.TrimPrefix(workerWasm, "static/")
	go func() {
		if _, err := promise.Await(sw.Call("register", script)); err != nil {
			js.Global().Get("console").Call("warn", "chrysalis: the demo will not work offline: "+err.Error())
		}
	}()
}
