// Where a training step goes in the browser: V8's sampling profiler (Chrome DevTools Protocol)
// over a few steps of the wasm library (pkg/, one thread) on a Chromium page, printed as self
// time by function, the largest first. Not a test (docs/speed.md quotes it).
//
//   cargo build --release --lib --target wasm32-unknown-unknown
//   wasm-bindgen --target web --out-dir pkg target/wasm32-unknown-unknown/release/lvm_playground.wasm
//   trunk build --release        # dist/: the datasets the page serves
//   node tests/e2e/step-profile.mjs [model (transformer)] [steps (4)] [rows (25)]
import { serve, launch, open } from "./harness.mjs";

const [model = "transformer", steps = "4", rows = "25"] = process.argv.slice(2);
const server = await serve();
const browser = await launch();
const { page, context } = await open(browser, server.url + "?models=mlp");
await page.evaluate(async (model) => {
  const lib = await import("/pkg/lvm_playground.js");
  await lib.default();
  const bytes = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
  const run = new lib.Run(`model=${model}&sample=4000&epochs=5`,
    await bytes("datasets/wiki-29k/manifest.json"), await bytes("datasets/wiki-29k/vectors.npy"));
  run.command('{"type":"run"}');
  run.work(2); // warm-up: compilation tiers, the allocator's first pages
  globalThis.profiled = run;
}, model);
const cdp = await context.newCDPSession(page);
await cdp.send("Profiler.enable");
await cdp.send("Profiler.setSamplingInterval", { interval: 500 }); // µs
await cdp.send("Profiler.start");
const ms = await page.evaluate((steps) => {
  const t = performance.now();
  globalThis.profiled.work(steps);
  return (performance.now() - t) / steps;
}, Number(steps));
const { profile } = await cdp.send("Profiler.stop");
await context.close();
await browser.close();
await server.close();

// Self samples by function name (a wasm function's name is its Rust path and hash).
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
for (const id of profile.samples) {
  const name = nodes.get(id).callFrame.functionName || "(anonymous)";
  self.set(name, (self.get(name) ?? 0) + 1);
}
const total = profile.samples.length;
console.log(`${model}: ${ms.toFixed(1)} ms/step over ${steps} steps, ${total} samples; self time by function:`);
for (const [name, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(rows))) {
  console.log(`${((100 * n) / total).toFixed(1).padStart(5)} %  ${name.slice(0, 140)}`);
}
// What runs on the run's threads in the threaded worker (products and Adam) against the rest.
const share = (test) => (100 * [...self].filter(([n]) => test(n)).reduce((s, [, c]) => s + c, 0)) / total;
const products = share((n) => n.startsWith("gemm_"));
const adam = share((n) => n.includes("train::adam::"));
console.log(`products (gemm) ${products.toFixed(1)} %, Adam ${adam.toFixed(1)} %, the rest ${(100 - products - adam).toFixed(1)} %`);
