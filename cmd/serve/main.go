// Command serve serves the repository root (the demo page, viewer.html,
// static/) for local development: `make serve` builds the wasm files and runs
// it. Every response carries Cache-Control: no-cache, so a rebuilt wasm file
// is always picked up, and .wasm is served as application/wasm, which
// WebAssembly.compileStreaming requires.
package main

import (
	"flag"
	"fmt"
	"log"
	"mime"
	"net/http"
	"os"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dir := flag.String("dir", ".", "folder to serve (the repository root)")
	flag.Parse()
	if err := mime.AddExtensionType(".wasm", "application/wasm"); err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(*dir + "/static/app.wasm"); err != nil {
		fmt.Fprintln(os.Stderr, "serve: static/app.wasm is missing: run `make serve` (it builds the wasm files first)")
		os.Exit(1)
	}
	files := http.FileServer(http.Dir(*dir))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
	fmt.Printf("serving %s on http://%s/\n", *dir, *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}
