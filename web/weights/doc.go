// Package weights gets a model's files into the browser: it reads the model
// list static/models/index.json (names, titles, provenance notes, and each
// file's size and SHA-256), fetches the files with byte progress, keeps them
// in the Cache API under a key that includes the hash (so a reload does not
// download them again, and a new version is never confused with an old one),
// and verifies every byte against the index before a worker sees it.
//
// The index and the verification are plain Go (tested natively); the fetch
// and the cache are in fetch_js.go, for GOOS=js.
package weights
