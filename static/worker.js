// Web Worker bootstrap for static/worker.wasm. The page posts the compiled
// WebAssembly.Module in a {kind:"start"} message; messages that arrive before
// the Go program runs are queued, and the program takes them with
// takeQueued() when it installs its own onmessage. See web/engine.
importScripts("wasm_exec.js");

const queued = [];
self.takeQueued = () => queued.splice(0);
self.onmessage = async (e) => {
  if (e.data.kind !== "start") {
    queued.push(e);
    return;
  }
  try {
    const go = new Go();
    const instance = await WebAssembly.instantiate(e.data.module, go.importObject);
    self.wasmMemory = instance.exports.mem;
    await go.run(instance);
    self.postMessage({ kind: "exit", error: "the Go program ended" });
  } catch (err) {
    self.postMessage({ kind: "exit", error: String(err) });
  }
};
