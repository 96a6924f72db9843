// A cold first visit on a real network: bytes and seconds, measured, not asserted.
//   node tests/e2e/visit-bench.mjs            after `trunk build --release`
// The built site (dist/) is served as GitHub Pages serves it: under a sub-path, no headers of its
// own (the site's service worker reloads the page once to make it isolated), gzip for text and
// wasm, max-age=600. The network is a slow link on the host's side (the harness's `link`:
// VISIT_MBIT, default 20 Mbit/s, shared by every response; VISIT_LATENCY ms before each body,
// default 40). Not Chromium's CDP Network.emulateNetworkConditions: that throttles the page's
// own requests only, and here the service worker and the workers fetch the wasm, the datasets
// and the encoders (measured: with CDP alone, 45 MB of vectors arrived in under 15 s at
// "20 Mbit/s"). VISIT_HEADERS=1 serves the two isolation headers instead (Netlify, Cloudflare,
// nginx), VISIT_GZIP=0 turns compression off, VISIT_PREFIX sets the sub-path (a build from
// before the site was relocatable needs "/"), LVM_DIST another build's folder. Prints, from the navigation's start, the seconds and the
// bytes the host sent until:
//   (a) the page is live with the default lesson's stored curves drawn;
//   (b) the first epoch of "Retrain live on a sample" is trained (the page's default sample);
//   (c) "Embed and use" has embedded a short pasted text and the page uses it as the dataset
//       (this downloads all-MiniLM-L6-v2; skipped when the build has no models/ folder).
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { serve, launch, DIST, pixelsOf } from "./harness.mjs";

const MBIT = Number(process.env.VISIT_MBIT ?? 20);
const LATENCY = Number(process.env.VISIT_LATENCY ?? 40);
const headers = process.env.VISIT_HEADERS === "1";
const prefix = process.env.VISIT_PREFIX ?? "/lvm-playground/";
const site = await serve({ isolated: headers, prefix, gzip: process.env.VISIT_GZIP !== "0",
  link: { mbit: MBIT, latency: LATENCY } });
const browser = await launch();
const context = await browser.newContext({ serviceWorkers: "allow" });
const page = await context.newPage();

const MB = (b) => (b / 1e6).toFixed(2);
let t0;
function report(what) {
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${what}: ${seconds.toFixed(1)} s, ${MB(site.sent.bytes)} MB from the host`);
}
function biggest(n = 8) {
  const byFile = new Map();
  for (const [url, bytes] of site.sent.files) {
    const path = url.replace(/\?.*/, "");
    byFile.set(path, (byFile.get(path) ?? 0) + bytes);
  }
  return [...byFile].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([path, bytes]) => `    ${MB(bytes)} MB  ${path}`).join("\n");
}

console.log(`cold first visit: ${MBIT} Mbit/s down, ${LATENCY} ms latency, host ` +
  `${headers ? "sends the isolation headers" : "sends no headers (the service worker adds them)"}, ` +
  `gzip ${process.env.VISIT_GZIP !== "0" ? "on" : "off"}`);
t0 = performance.now();
await page.goto(prefix === "/" ? site.url : site.url.slice(0, -1));
await page.waitForFunction(() => document.querySelectorAll("#ranking-body tr").length === 3
  && crossOriginIsolated, null, { timeout: 600_000, polling: 50 });
await page.waitForFunction(() => document.getElementById("legend").textContent.includes("Transformer"),
  null, { timeout: 600_000, polling: 50 });
if (!(await pixelsOf(page, "curves", [0x1f, 0x77, 0xb4]))) throw new Error("no curve drawn");
report("(a) page live, the lesson's stored curves drawn");
console.log(biggest());

await page.click("#lesson [data-action=train]");
await page.waitForFunction(() => /Ready\./.test(document.getElementById("data-status").textContent),
  null, { timeout: 600_000, polling: 50 });
report("    of which the dataset downloaded and checked");
await page.waitForFunction(() => /^epoch 1:/.test(document.getElementById("numbers-1")?.textContent ?? ""),
  null, { timeout: 600_000, polling: 50 });
report("(b) first epoch of \"Retrain live on a sample\" (MLP)");
console.log(biggest(4));
await page.click("#controls [data-action=stop]");

if (await stat(join(DIST, "models", "all-MiniLM-L6-v2")).catch(() => null)) {
  const before = site.sent.bytes;
  const t1 = performance.now();
  await page.click("#own-data summary");
  const text = Array.from({ length: 40 }, (_, i) =>
    `Sentence ${i + 1} of a short text about the playground, pasted to be embedded.`).join("\n");
  await page.fill("#own-text", text);
  await page.click("[data-action=embed-text]");
  await page.waitForSelector("#data-status:has-text('pasted text, 40 × 384')", { timeout: 900_000 });
  console.log(`(c) "Embed and use" ready: ${((performance.now() - t1) / 1000).toFixed(1)} s after the click, ` +
    `${MB(site.sent.bytes - before)} MB more from the host`);
  console.log(`    embed status: ${await page.textContent("#embed-status")}`);
} else {
  console.log("(c) skipped: this build has no encoders (python3 scripts/fetch_model.py --model all-MiniLM-L6-v2)");
}
await browser.close();
await site.close();
