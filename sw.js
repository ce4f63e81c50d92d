// The demo's service worker: after one visit the page works with the network
// gone. It lives beside index.html because a service worker controls only
// the pages at or below its own folder.
//
// Every GET of the site goes to the network first, and a good answer is kept;
// only when the network fails does the kept copy answer. Online, the page,
// its wasm and the model index are therefore always the deployed ones (a new
// deploy replaces the old files, and no old wasm meets new weights); offline
// they are those of the last visit. Installing keeps the files the page
// needs at once, so the first visit is enough. The page names the worker
// module it picked (worker.wasm or worker-scalar.wasm) in this script's URL,
// ?worker=NAME. Model weights are kept by the page itself, in the Cache API
// under their SHA-256 (web/weights), and pass through untouched.
"use strict";

const CACHE = "chrysalis-site";
const SHELL = ["./", "index.html", "viewer.html", "static/style.css", "static/wasm_exec.js", "static/worker.js",
  "static/app.wasm", "static/viewer.wasm", "static/models/index.json"];

self.addEventListener("install", (e) => {
  const worker = new URL(location.href).searchParams.get("worker");
  const files = worker ? SHELL.concat("static/" + worker) : SHELL;
  e.waitUntil(caches.open(CACHE)
    .then((cache) => cache.addAll(files.map((f) => new URL(f, self.registration.scope))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin || url.pathname.endsWith(".safetensors")) {
    return;
  }
  e.respondWith(networkFirst(e.request));
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) {
      await cache.put(request, response.clone());
    }
    return response;
  } catch (err) {
    // A page opened with other URL parameters is the same page.
    const kept = await cache.match(request, { ignoreSearch: request.mode === "navigate" });
    if (kept) {
      return kept;
    }
    throw err;
  }
}
