// The site's service worker (www/boot.js registers it). Two jobs, for a static host that sets
// no headers of its own (GitHub Pages, say):
// - Threads: it answers the site's own requests with Cross-Origin-Opener-Policy and
//   Cross-Origin-Embedder-Policy added, so the page it controls is cross-origin isolated and its
//   training workers get shared memory (wasm threads). The first visit is not controlled yet;
//   boot.js reloads it once.
// - Offline: it keeps the app's files (HTML, JS, wasm, CSS, the manifest) in a cache named after
//   the build, so a visit with no network opens; the datasets and encoders are the page's own
//   business (it keeps them in its Cache API cache once downloaded, and workers read them there).
//
// Every app file is fetched from the network first and kept only when it arrived whole with
// status 200, so an online visit never runs a stale build and a failed or cut-short response is
// never stored; the cache answers only when the network does not. scripts/site_version.sh
// writes the build's version and its app files into the copy in dist/.

const BUILD = "__LVM_BUILD__";
const SHELL = [/* __LVM_SHELL__ */];
const PREFIX = "lvm-app-";
const APP = PREFIX + BUILD;
/** Files the page keeps itself (and much larger than the app): passed through. */
const PAGE_KEEPS = ["datasets/", "models/"];

const ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    // A new deploy: the previous builds' files go (only ours: the page's dataset cache stays),
    // and this build's are fetched at once, so the site stays usable offline.
    let replaced = false;
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== APP) replaced = await caches.delete(name);
    }
    await self.clients.claim();
    if (replaced) await keepApp();
  })());
});

// The page asks, once it is live, for the rest of the app (both training workers) to be kept,
// so that a visit with no network can train even if this one trained nothing.
self.addEventListener("message", (event) => {
  if (event.data === "keep-app") event.waitUntil(keepApp());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // Cross-origin requests and partial ones go to the browser as they are.
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.headers.has("range")) return;
  event.respondWith(answer(request, url));
});

const scope = () => new URL(self.registration.scope);

/** The cache key of an app file: its path without the query; a navigation is the index. */
function keyOf(request, url) {
  if (request.mode === "navigate") return scope().href;
  return url.origin + url.pathname;
}

function isAppFile(url) {
  const base = scope().pathname;
  if (!url.pathname.startsWith(base)) return false;
  const rest = url.pathname.slice(base.length);
  return !PAGE_KEEPS.some((p) => rest.startsWith(p));
}

async function answer(request, url) {
  if (!isAppFile(url)) return isolate(await fetch(request));
  const key = keyOf(request, url);
  let response;
  try {
    // Revalidated with the host (a host's max-age would otherwise hand back the previous
    // deploy's file from the HTTP cache: an old worker_loader.js naming a wasm that is gone).
    // A navigation's redirect goes back to the browser as it came (redirect: "manual").
    response = await fetch(request.mode === "navigate"
      ? new Request(request.url, { cache: "no-cache", redirect: "manual", credentials: "same-origin" })
      : new Request(request, { cache: "no-cache" }));
  } catch (offline) {
    const kept = await caches.match(key, { cacheName: APP });
    if (kept) return kept;
    throw offline;
  }
  const answered = isolate(response);
  if (keepable(response)) {
    const copy = answered.clone();
    // Stored only once its whole body has arrived (a body that fails rejects `put`, and nothing
    // is written).
    caches.open(APP).then((cache) => cache.put(key, copy)).catch(() => {});
  }
  return answered;
}

/** Whole, successful, our own: never an error, a redirect or a partial response. */
function keepable(response) {
  return response.status === 200 && response.type === "basic" && !response.redirected;
}

/** `response` with the two isolation headers added (an opaque one cannot be rebuilt). */
function isolate(response) {
  if (response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/** Fetches into the cache each app file of this build it does not hold yet. */
async function keepApp() {
  const cache = await caches.open(APP);
  const base = scope();
  for (const file of SHELL) {
    // "" is the scope itself: the index, under the key a navigation uses (`keyOf`).
    const key = new URL(file, base).href;
    if (await cache.match(key)) continue;
    try {
      const response = await fetch(key, { cache: "no-cache" });
      if (keepable(response)) await cache.put(key, isolate(response));
    } catch {
      // Offline again, or the file is gone with a new deploy: the next visit tries again.
    }
  }
}
