//go:build js && wasm

package weights

import (
	"context"
	"fmt"
	"syscall/js"

	"chrysalis/web/promise"
)

// cacheName is the Cache API store of model files. Entries are keyed by the
// file's URL plus its hash, so an updated file never reads as the old one.
const cacheName = "chrysalis-models"

// Progress reports the bytes of a model's files read so far.
type Progress struct {
	Done, Total int64
}

// Fetch gets every file of m, from the Cache API when it holds a copy that
// verifies, otherwise over the network, and returns each file as a
// Uint8Array, verified against the index. progress is called as bytes arrive.
func Fetch(ctx context.Context, m Model, progress func(Progress)) (map[string]js.Value, error) {
	var total, done int64
	for _, f := range m.Files {
		total += f.Size
	}
	cache := openCache()
	out := map[string]js.Value{}
	for _, f := range m.Files {
		key := m.Path(f) + "?sha256=" + f.SHA256
		data, ok := fromCache(cache, key, f)
		if !ok {
			var err error
			data, err = download(ctx, m.Path(f), f, func(n int64) { progress(Progress{done + n, total}) })
			if err != nil {
				return nil, err
			}
			if cache.Truthy() {
				// A full disk or a private window refuses the copy; the demo works without it.
				_, _ = promise.Await(cache.Call("put", key, js.Global().Get("Response").New(data)))
			}
		}
		done += f.Size
		progress(Progress{done, total})
		out[f.Name] = data
	}
	return out, nil
}

// openCache returns the Cache API store, or undefined where there is none
// (an insecure origin).
func openCache() js.Value {
	caches := js.Global().Get("caches")
	if !caches.Truthy() {
		return js.Undefined()
	}
	c, err := promise.Await(caches.Call("open", cacheName))
	if err != nil {
		return js.Undefined()
	}
	return c
}

// fromCache returns the cached copy of f when there is one and it verifies;
// a copy that does not verify is deleted.
func fromCache(cache js.Value, key string, f File) (js.Value, bool) {
	if !cache.Truthy() {
		return js.Value{}, false
	}
	resp, err := promise.Await(cache.Call("match", key))
	if err != nil || !resp.Truthy() {
		return js.Value{}, false
	}
	buf, err := promise.Await(resp.Call("arrayBuffer"))
	if err != nil {
		return js.Value{}, false
	}
	data := js.Global().Get("Uint8Array").New(buf)
	if verify(data, f) != nil {
		_, _ = promise.Await(cache.Call("delete", key))
		return js.Value{}, false
	}
	return data, true
}

// download streams url into a Uint8Array of the size the index gives,
// reporting the bytes read, and verifies it.
func download(ctx context.Context, url string, f File, progress func(int64)) (js.Value, error) {
	resp, err := promise.Await(js.Global().Call("fetch", url, map[string]any{"cache": "no-cache"}))
	if err != nil {
		return js.Value{}, fmt.Errorf("%s: %w", url, err)
	}
	if !resp.Get("ok").Bool() {
		return js.Value{}, fmt.Errorf("%s: HTTP %d %s", url, resp.Get("status").Int(), resp.Get("statusText").String())
	}
	reader := resp.Get("body").Call("getReader")
	data := js.Global().Get("Uint8Array").New(int(f.Size))
	var n int64
	for {
		if ctx.Err() != nil {
			reader.Call("cancel")
			return js.Value{}, ctx.Err()
		}
		chunk, err := promise.Await(reader.Call("read"))
		if err != nil {
			return js.Value{}, fmt.Errorf("%s: reading: %w", url, err)
		}
		if chunk.Get("done").Bool() {
			break
		}
		v := chunk.Get("value")
		k := int64(v.Get("length").Int())
		if n+k > f.Size {
			reader.Call("cancel")
			return js.Value{}, fmt.Errorf("%s: more than the %d bytes that models/index.json says", url, f.Size)
		}
		data.Call("set", v, n)
		n += k
		progress(n)
	}
	if n < f.Size {
		data = data.Call("subarray", 0, n)
	}
	if err := verify(data, f); err != nil {
		return js.Value{}, err
	}
	return data, nil
}

func verify(data js.Value, f File) error {
	b := make([]byte, data.Get("length").Int())
	js.CopyBytesToGo(b, data)
	return f.Verify(b)
}
