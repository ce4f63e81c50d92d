// Package e2e checks the Ebiten viewer (wasm/viewer, viewer.html) on its own,
// without the demo page: a test page served on 127.0.0.1 embeds viewer.html
// in an iframe inside a long scrolling page, drives it with synthetic runs
// through postMessage, and checks in headless Chromium what the canvas shows
// and that wheel and touch scrolling over the iframe still scroll the page.
// Screenshots land in out/screenshots at the repository root.
//
// It needs Debian's chromium; without it the test skips, or fails when CI=true.
package e2e
