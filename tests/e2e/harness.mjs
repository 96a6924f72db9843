// Shared by the end-to-end tests and the browser benchmark: a static server for dist/ (what
// `trunk build --release` wrote) and headless Chromium driven by playwright-core.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { join, normalize, extname, resolve } from "node:path";
import { chromium } from "playwright-core";

export const DIST = resolve(process.env.LVM_DIST ?? "dist");
/** The wasm-bindgen library build (check.sh writes it), served under /pkg/. */
export const PKG = resolve("pkg");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
  ".css": "text/css",
  ".json": "application/json",
  ".jsonl": "application/x-ndjson",
  ".npy": "application/octet-stream",
  ".safetensors": "application/octet-stream",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
};

/** What a host compresses: text and wasm, not the float vectors and weights. */
const COMPRESSED = /^(text\/|application\/(wasm|json|x-ndjson|manifest\+json)|image\/svg)/;

/**
 * The headers of a cross-origin-isolated page (what `./serve.sh` sends): shared memory, so the
 * page starts the training worker built with threads.
 */
export const ISOLATION = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
};

/**
 * Serves DIST on 127.0.0.1 (a free port) the way a static host does: under `prefix` (a path
 * that starts and ends with "/", like GitHub Pages' "/<repository>/"), a folder's address
 * without its trailing slash redirected (301) to the one with it, `Cache-Control: max-age=600`
 * with an ETag (a revalidation gets 304), gzip for text and wasm with `gzip: true` (as GitHub
 * Pages, Netlify and Cloudflare do), and cross-origin isolated unless `isolated: false` (a host
 * that sets no headers). `/pkg/` (the library build) is served at the root.
 * Resolves to { url (the site's address, with its trailing slash), sent, replace, close };
 * `replace(path, bytes)` serves `bytes` at a site path from then on (a new deploy of that file).
 * `link: { mbit, latency }` sends every body through one shared link of that speed, each after
 * `latency` ms (the cold-visit benchmark's network: it slows the service worker's and the
 * workers' requests too, which a page's CDP throttling does not).
 */
export async function serve({ isolated = true, prefix = "/", gzip = false, link } = {}) {
  const pace = link && slowLink(link);
  const gzipped = new Map();
  const replaced = new Map();
  // What the host sent: body bytes and [path, bytes] per response (the cold-visit benchmark's).
  const sent = { bytes: 0, files: [] };
  const sendFile = (req, res, path, body) => {
    const type = TYPES[extname(path)] ?? "application/octet-stream";
    const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`;
    const common = { "content-type": type, "cache-control": "max-age=600", etag, ...(isolated ? ISOLATION : {}) };
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, common);
      return res.end();
    }
    if (gzip && COMPRESSED.test(type) && /\bgzip\b/.test(req.headers["accept-encoding"] ?? "")) {
      if (!gzipped.has(etag)) gzipped.set(etag, gzipSync(body, { level: 6 }));
      body = gzipped.get(etag);
      common["content-encoding"] = "gzip";
      common.vary = "accept-encoding";
    }
    res.writeHead(200, { ...common, "content-length": body.length });
    if (req.method === "HEAD") return res.end();
    const count = (bytes) => {
      sent.bytes += bytes;
      sent.files.push([req.url, bytes]);
    };
    if (pace) return pace(res, body, count);
    count(body.length);
    res.end(body);
  };
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      if (path.startsWith("/pkg/")) {
        const file = normalize(join(PKG, path.slice(4)));
        if (!file.startsWith(PKG)) throw new Error("outside the served folders");
        return sendFile(req, res, file, await readFile(file));
      }
      if (path + "/" === prefix) {
        res.writeHead(301, { location: prefix + new URL(req.url, "http://x").search });
        return res.end();
      }
      if (!path.startsWith(prefix)) throw new Error("outside the site");
      let rest = path.slice(prefix.length);
      const file = normalize(join(DIST, rest));
      if (!file.startsWith(DIST)) throw new Error("outside the served folders");
      if (!rest.endsWith("/") && rest !== "" && (await stat(file).catch(() => null))?.isDirectory()) {
        res.writeHead(301, { location: path + "/" });
        return res.end();
      }
      if (rest === "" || rest.endsWith("/")) rest += "index.html";
      const body = replaced.get(rest) ?? await readFile(join(DIST, rest));
      sendFile(req, res, rest, body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    sent,
    replace: (path, bytes) => replaced.set(path, Buffer.from(bytes)),
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(ok); }),
  };
}

/**
 * One link of `mbit` Mbit/s shared by every response: after `latency` ms a body joins a
 * round robin that sends 16 KiB of each waiting body in turn, at the link's rate (so a large
 * download slows the small ones beside it, as on a real connection, without blocking them).
 */
function slowLink({ mbit, latency }) {
  const bytesPerMs = (mbit * 1e6) / 8 / 1000;
  const queue = [];
  let busy = false;
  const pump = () => {
    const s = queue.shift();
    if (!s) {
      busy = false;
      return;
    }
    busy = true;
    const chunk = s.body.subarray(s.offset, s.offset + 16384);
    s.offset += chunk.length;
    s.count(chunk.length);
    if (s.offset < s.body.length && !s.res.destroyed) {
      s.res.write(chunk);
      queue.push(s);
    } else {
      s.res.end(chunk);
    }
    setTimeout(pump, chunk.length / bytesPerMs);
  };
  return (res, body, count) => setTimeout(() => {
    queue.push({ res, body, offset: 0, count });
    if (!busy) pump();
  }, latency);
}

/** Headless Debian Chromium (see ../shared/TOOLCHAIN.md for why these flags). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/**
 * A fresh page (own context: empty cache, no service worker) that records console errors and
 * uncaught errors; `init` (a function) runs in the page before its own scripts. The site's
 * service worker (www/sw.js) is blocked unless `serviceWorkers: "allow"`: a test that routes
 * requests needs it out of the way (Playwright does not route what a service worker answers),
 * and the tests that are about it ask for it.
 */
export async function open(browser, url, { init, serviceWorkers = "block", context } = {}) {
  context ??= await browser.newContext({ acceptDownloads: true, serviceWorkers });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  // A renderer killed by the OS leaves every later wait to time out; say so at once.
  page.on("crash", () => console.error(`the page crashed: ${url}`));
  await page.goto(url);
  // The page is live once its wasm has enabled the Train button (it ships disabled); before
  // that, clicks are not heard and the notices are not written yet.
  await page.waitForSelector("#controls [data-action=train]:not([disabled])", { state: "attached" });
  return { page, context, errors };
}

/**
 * A playground worker of the page's own, in the page: the single-threaded build, or with
 * `threads` the one built with wasm threads (needs an isolated page).
 */
const NEW_WORKER = `(threads) => threads === undefined
  ? new Worker("./worker_loader.js")
  : new Worker("./threads/worker.js?threads=" + threads, { type: "module" })`;

/**
 * Sends `message` (a `ToWorker`, src/protocol.rs) to a playground worker of its own and
 * resolves to its `FromWorker` reply of `replyType`.
 */
function askWorker(page, message, replyType, threads) {
  return page.evaluate(([message, replyType, threads, newWorker]) => new Promise((resolve, reject) => {
    const worker = eval(newWorker)(threads);
    worker.onerror = (e) => reject(new Error(`the worker crashed: ${e.message}`));
    worker.onmessage = (e) => {
      const msg = JSON.parse(typeof e.data === "string" ? e.data : e.data[0]);
      if (msg.type === "ready") {
        worker.postMessage(JSON.stringify(message));
      } else if (msg.type === replyType) {
        worker.terminate();
        resolve(msg);
      } else if (msg.type === "event" && msg.event.type === "failed") {
        worker.terminate();
        reject(new Error(`${msg.event.cause}: ${msg.event.message}`));
      }
    };
  }), [message, replyType, threads, NEW_WORKER]);
}

/**
 * Trains a run config to its end in a worker of its own (`threads` as in `askWorker`) and
 * resolves to the threads its worker said it has and what would tell two runs apart: the step losses it reports (every few steps, by
 * step count), every epoch's metrics without timings, and the SHA-256 of its exported weights'
 * tensors.
 */
export function trainInWorker(page, config, dataset, threads) {
  return page.evaluate(([config, dataset, threads, newWorker]) => new Promise((resolve, reject) => {
    const worker = eval(newWorker)(threads);
    const losses = [], epochs = [];
    let ready;
    const send = (m) => worker.postMessage(JSON.stringify(m));
    worker.onerror = (e) => reject(new Error(`the worker crashed: ${e.message}`));
    worker.onmessage = async (e) => {
      const msg = JSON.parse(typeof e.data === "string" ? e.data : e.data[0]);
      const ev = msg.event ?? {};
      if (msg.type === "ready") {
        ready = msg;
        // Absolute, as the page sends it: a worker resolves URLs against its own script's.
        send({ type: "init", config, dataset: new URL(dataset, location.href).href });
        send({ type: "run" });
      } else if (ev.type === "progress") {
        losses.push([ev.step, ev.loss]);
      } else if (ev.type === "epoch") {
        const { seconds, samples_per_second, ...metrics } = ev.metrics;
        epochs.push(metrics);
      } else if (ev.type === "state" && ev.state === "finished") {
        send({ type: "export" });
      } else if (ev.type === "failed") {
        worker.terminate();
        reject(new Error(`${ev.cause}: ${ev.message}`));
      } else if (msg.type === "export") {
        // The tensors only: the safetensors header's metadata holds the log, with timings.
        const bytes = e.data[1];
        const header = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
        const digest = await crypto.subtle.digest("SHA-256", bytes.slice(8 + header));
        worker.terminate();
        resolve({ threads: ready.threads, losses, epochs,
          weights: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("") });
      }
    };
  }), [config, dataset, threads, NEW_WORKER]);
}

/**
 * Embeds `sentences` with `encoder` in an encoder worker of its own (the page's), as "Embed a
 * text" does, and resolves to { count, dim, seconds, vectors } (vectors: an array of arrays).
 */
export function embedInWorker(page, encoder, sentences) {
  return page.evaluate(([encoder, sentences]) => new Promise((resolve, reject) => {
    const worker = new Worker("./encoder_loader.js");
    worker.onerror = (e) => reject(new Error(`the worker crashed: ${e.message}`));
    worker.onmessage = (e) => {
      const msg = JSON.parse(typeof e.data === "string" ? e.data : e.data[0]);
      if (msg.type === "ready") {
        const bytes = new TextEncoder().encode(JSON.stringify(sentences));
        const files = new URL(`models/${encoder}/`, location.href).href;
        worker.postMessage([JSON.stringify({ type: "embed", encoder, files }), bytes], [bytes.buffer]);
      } else if (msg.type === "embedded") {
        const flat = new Float32Array(e.data[1].buffer, e.data[1].byteOffset, msg.count * msg.dim);
        const vectors = [];
        for (let i = 0; i < msg.count; i++) vectors.push([...flat.subarray(i * msg.dim, (i + 1) * msg.dim)]);
        worker.terminate();
        resolve({ count: msg.count, dim: msg.dim, seconds: msg.seconds, vectors });
      } else if (msg.type === "event" && msg.event.type === "failed") {
        worker.terminate();
        reject(new Error(`${msg.event.cause}: ${msg.event.message}`));
      }
    };
  }), [encoder, sentences]);
}

/**
 * `lvm bench`'s figures (training and inference) for one run config, measured by a playground
 * worker of its own through its `bench` message, on the dataset the page has cached.
 */
export async function benchInWorker(page, config, steps, warmup = 3, threads = undefined) {
  await page.waitForFunction(() => / Ready\.$/.test(document.getElementById("data-status").textContent),
    null, { timeout: 600_000 });
  const dataset = await page.inputValue("#shared-dataset");
  const msg = await askWorker(page, { type: "bench", config: `dataset=${dataset}&${config}`,
    dataset: new URL(`datasets/${dataset}/`, page.url()).href, warmup, steps }, "bench", threads);
  return { ...msg.speed, memory_bytes: msg.memory_bytes };
}

/** `lvm bench`'s "matrix products alone": each study model's largest product, timed in a worker. */
export async function productsInWorker(page, reps, threads = undefined) {
  const { rates, tile_gflops } = await askWorker(page, { type: "products", reps }, "products", threads);
  return Object.assign(rates, { tile_gflops });
}

/** Pixels of a canvas drawn in the given colour (r, g, b). */
export async function pixelsOf(page, id, [r, g, b]) {
  return page.evaluate(([id, r, g, b]) => {
    const c = document.getElementById(id);
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] === r && d[i + 1] === g && d[i + 2] === b && d[i + 3] > 200) n++;
    return n;
  }, [id, r, g, b]);
}

/**
 * Whether the curves plot shows a point of colour (r, g, b) where `value` at `epoch` is drawn:
 * a pixel of that colour within 3 px of the spot, placed by the frame (plot rectangle and epochs)
 * and y range the canvas says it drew (`data-frame`, `data-y-range`: web/plot.rs).
 */
export async function drawnAt(page, [r, g, b], epoch, value) {
  return page.evaluate(([r, g, b, epoch, value]) => {
    const c = document.getElementById("curves");
    const [lo, hi] = c.getAttribute("data-y-range").split(",").map(Number);
    const [left, top, right, bottom, epochs] = c.getAttribute("data-frame").split(",").map(Number);
    const x = Math.round(left + (right - left) * epoch / epochs);
    const y = Math.round(top + (bottom - top) * (hi - value) / (hi - lo));
    const d = c.getContext("2d").getImageData(x - 3, y - 3, 7, 7).data;
    for (let i = 0; i < d.length; i += 4) if (d[i] === r && d[i + 1] === g && d[i + 2] === b && d[i + 3] > 200) return true;
    return false;
  }, [r, g, b, epoch, value]);
}

/**
 * Whether a histogram canvas (`id`) draws `counts` as bars of colour (r, g, b): each bin's bar,
 * measured down its centre column, is as tall relative to the tallest as its count is (within
 * 4 px: the top row is antialiased and the baseline's 1 px outline, crossing a bar, blends up
 * to two rows; the bars are at most 64 px tall), and an empty bin has no bar.
 */
export async function barsMatch(page, id, [r, g, b], counts) {
  return page.evaluate(([id, r, g, b, counts]) => {
    const c = document.getElementById(id);
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    const bw = c.width / counts.length;
    const heights = counts.map((_, i) => {
      const x = Math.floor((i + 0.5) * bw);
      let n = 0;
      for (let y = 0; y < c.height; y++) {
        const p = 4 * (y * c.width + x);
        if (d[p] === r && d[p + 1] === g && d[p + 2] === b && d[p + 3] > 200) n++;
      }
      return n;
    });
    const top = counts.indexOf(Math.max(...counts));
    if (heights[top] < 10) return `the tallest bar is ${heights[top]} px`;
    const wrong = counts.map((k, i) => [i, k, heights[i], heights[top] * k / counts[top]])
      .filter(([, k, h, want]) => (k === 0 ? h !== 0 : Math.abs(h - want) > 4));
    return wrong.length === 0 ? true : `bins [bin, count, px, want px]: ${JSON.stringify(wrong)}`;
  }, [id, r, g, b, counts]);
}

/** The card's (run's, 1-based) total step count, from its status line ("… (total 17) …"), or 0. */
export async function totalSteps(page, model) {
  const text = await page.textContent(`#status-${model}`);
  const m = /\(total (\d+)\)/.exec(text ?? "");
  return m ? Number(m[1]) : 0;
}

export async function waitForState(page, model, word, timeout = 300_000) {
  await page.waitForFunction(
    ([m, w]) => document.getElementById(`status-${m}`)?.textContent.startsWith(w),
    [model, word],
    { timeout, polling: 100 },
  );
}

/** Clicks a card's export button and returns the downloaded file's text. */
export async function exportText(page, model, what) {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click(`#card-${model} [data-action=export-${what}]`),
  ]);
  const path = await download.path();
  return (await readFile(path)).toString("utf8");
}
