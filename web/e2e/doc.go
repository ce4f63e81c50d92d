// Package e2e is the browser demo's end-to-end test: it builds the wasm
// files and the chrysalis CLI, serves the repository on 127.0.0.1, and drives
// index.html in headless Chromium (chromedp): a run whose viewer shows
// images and whose PNG equals `chrysalis sample`; URL parameters, hostile
// ones included; Stop and Run again; corrupt, truncated, missing and
// misconfigured model files; every shipped model, picked in the menu of a
// site served below a path; keyboard focus order, phone width, the embed
// layout and the embed example page, with screenshots in out/screenshots. No
// page may log a console error or throw.
//
// The tests carry the build tag e2e (`make test-e2e`), so that `go test ./...`
// does not start a browser. Without Chromium they skip, or fail when CI=true.
// `make bench-browser` runs the benchmark: seconds from Run to the final
// image with 1 and 2 workers, and the workers' wasm memory over many runs.
package e2e
