// Browser benchmark: figures from inside the playground's workers in headless Chromium.
// Not a test (nothing asserts a time): `node tests/e2e/bench.mjs` after `trunk build --release`.
// Prints wasm sizes, seconds from page load to the first MLP epoch on the default sample,
// training samples/s per model with one worker, and with the three study models at once, and
// `lvm bench`'s figures (training and inference, where a step goes, the matrix products alone)
// from inside one worker.
// Environment: BENCH_MODELS (comma list), BENCH_SECONDS (per throughput figure), BENCH_STEPS
// and BENCH_WARMUP (worker bench), BENCH_PRODUCTS (repetitions of each matrix product),
// BENCH_STEP_TIMES=1 (print every step), BENCH_SKIP_LOAD=1, BENCH_ONLY_WORKER=1 (the worker
// bench alone), BENCH_THREADS (comma list of the workers the worker bench uses, in turn:
// "single" the single-threaded build, a number N the threaded build on N threads; default
// "single,1,2").
import { stat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { serve, launch, open, totalSteps, benchInWorker, productsInWorker, DIST } from "./harness.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const server = await serve();
const browser = await launch();

for (const f of (await readdir(DIST)).filter((f) => f.endsWith(".wasm"))) {
  console.log(`wasm size ${f}: ${((await stat(join(DIST, f))).size / 1e6).toFixed(2)} MB`);
}

// Page load -> first MLP epoch, default sample, fresh browser profile (dataset downloaded).
if (!process.env.BENCH_SKIP_LOAD && !process.env.BENCH_ONLY_WORKER) {
  const { page, context } = await open(browser, server.url + "?runs=mlp&autostart=1");
  await page.waitForFunction(() => /^epoch 1:/.test(document.getElementById("numbers-1").textContent),
    null, { timeout: 600_000, polling: 50 });
  const seconds = await page.evaluate(() => performance.now() / 1000);
  const sample = await page.inputValue("#shared-sample");
  console.log(`page load to first MLP epoch (sample ${sample}, dataset downloaded from localhost): ${seconds.toFixed(1)} s`);
  await context.close();
}

/** Steps/s of each model's run over SECONDS, after its first few steps. */
async function throughput(models) {
  // Runs are cards 1, 2, … in the link's order.
  const url = server.url + `?runs=${models.join(",")}&sample=4000&epochs=30`;
  const { page, context } = await open(browser, url);
  const cards = models.map((_, i) => String(i + 1));
  await page.click("#controls [data-action=train]");
  for (const m of cards) {
    await page.waitForFunction((m) => /\(total [3-9]\d*\)/.test(document.getElementById(`status-${m}`).textContent)
      || /\(total \d{2,}\)/.test(document.getElementById(`status-${m}`).textContent), m, { timeout: 600_000 });
  }
  // Long tasks on the page's thread from here on: while every run trains.
  const longTasks = await page.evaluateHandle(() => {
    const seen = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => seen.push(e.duration)))
      .observe({ type: "longtask", buffered: false });
    return seen;
  });
  const start = await Promise.all(cards.map((m) => totalSteps(page, m)));
  const t0 = Date.now();
  await page.waitForTimeout(SECONDS * 1000);
  const end = await Promise.all(cards.map((m) => totalSteps(page, m)));
  const dt = (Date.now() - t0) / 1000;
  const batch = await Promise.all(cards.map((m) => page.inputValue(`#knob-${m}-batch`)));
  const tasks = await longTasks.evaluate((s) => s.slice());
  await context.close();
  return models.map((m, i) => ({
    model: m,
    steps: end[i] - start[i],
    msPerStep: (1000 * dt) / Math.max(1, end[i] - start[i]),
    samplesPerSecond: ((end[i] - start[i]) * Number(batch[i])) / dt,
    longTasks: tasks,
  }));
}

/** `lvm bench`'s figures for each model, each from a fresh playground worker. */
async function workerBench(models, steps, threads) {
  const { page, context } = await open(browser, server.url + "?models=mlp");
  const out = [];
  for (const model of models) out.push({ model, ...await benchInWorker(page, `sample=4000&model=${model}`, steps, WARMUP, threads) });
  await context.close();
  return out;
}

// Untimed steps first, as in `lvm bench`. Each timed step's time is printed too: fresh workers
// running the same model have differed by up to 2x between runs (InfoNCE 1,330-2,860 ms/step)
// while each one's own steps stayed steady, and the median shows which a run got.
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
const BENCH_MODELS = (process.env.BENCH_MODELS ?? "mlp,lstm,transformer,transformer-infonce").split(",").filter(Boolean);
const fmt = (x, w, d = 1) => x.toFixed(d).padStart(w);
const SETTINGS = (process.env.BENCH_THREADS ?? "single,1,2").split(",").filter(Boolean);
const workerOf = (s) => (s === "single" ? undefined : Number(s));
const nameOf = (s) => (s === "single" ? "single-threaded build" : `threaded build, ${s} thread${s === "1" ? "" : "s"}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
for (const setting of SETTINGS) {
  console.log(`one worker (${nameOf(setting)}), \`lvm bench\` figures (batch: the model's own; BENCH_WARMUP warm-up + BENCH_STEPS timed steps):`);
  console.log(`${"model".padEnd(20)} ${"batch".padStart(5)} ${"train ms/step".padStart(13)} ${"median".padStart(6)} ${"samples/s".padStart(9)} ${"infer ms/batch".padStart(14)} ${"samples/s".padStart(9)}   batch / forward+loss / backward / Adam, ms`);
  for (const r of await workerBench(BENCH_MODELS, Number(process.env.BENCH_STEPS ?? 10), workerOf(setting))) {
    if (process.env.BENCH_STEP_TIMES) console.log(`  ${r.model} steps, ms: ${r.train_step_ms.map((x) => x.toFixed(0)).join(" ")}`);
    const p = r.train_phases_ms;
    console.log(`${r.model.padEnd(20)} ${String(r.batch).padStart(5)} ${fmt(r.train_ms_per_step, 13)} ${fmt(median(r.train_step_ms), 6, 0)} ${fmt(r.train_samples_per_second, 9)} ${fmt(r.infer_ms_per_batch, 14)} ${fmt(r.infer_samples_per_second, 9)}   ${[p.batch, p.forward, p.backward, p.optimizer].map((x) => x.toFixed(1)).join(" / ")}   memory ${(r.memory_bytes / 2 ** 20).toFixed(0)} MiB`);
  }
  {
    // The matrix products alone, as `lvm bench` prints them natively: what bounds a step.
    const reps = Number(process.env.BENCH_PRODUCTS ?? 20);
    const { page, context } = await open(browser, server.url + "?models=mlp");
    console.log(`matrix products alone in one worker (${nameOf(setting)}; the models' float32 matmul, ${reps} each; then the other kernel on the same product, and the ratio):`);
    const rates = await productsInWorker(page, reps, workerOf(setting));
    console.log(`one thread's limit, measured: the own kernel's 3 × 12 register tile alone on panels in the first-level cache, ${rates.tile_gflops.toFixed(1)} GFLOP/s`);
    for (const r of rates) {
      const other = r.other == null ? "" : ` · ${r.other.kernel} ${fmt(r.other.gflops, 6)} GFLOP/s (${r.kernel} / it: ${(r.gflops / r.other.gflops).toFixed(2)}×)`;
      console.log(`${r.what.padEnd(26)} ${`[${r.m}, ${r.k}] · [${r.k}, ${r.n}]`.padStart(28)} ${fmt(r.ms, 9, 2)} ms ${fmt(r.gflops, 7)} GFLOP/s (${(r.gflops / rates.tile_gflops).toFixed(2)} × one thread's limit) ${r.kernel}${other}`);
    }
    await context.close();
  }
}
if (process.env.BENCH_ONLY_WORKER) {
  await browser.close();
  await server.close();
  process.exit(0);
}

const single = {};
for (const m of BENCH_MODELS) {
  const [r] = await throughput([m]);
  single[m] = r.samplesPerSecond;
  console.log(`one worker  ${m.padEnd(20)} ${r.msPerStep.toFixed(0).padStart(6)} ms/step ${r.samplesPerSecond.toFixed(1).padStart(8)} samples/s (${r.steps} steps in ${SECONDS} s)`);
}
const together = await throughput(["mlp", "lstm", "transformer"]);
for (const r of together) {
  const ratio = single[r.model] ? ` (${(r.samplesPerSecond / single[r.model]).toFixed(2)}x its one-worker speed)` : "";
  console.log(`three at once ${r.model.padEnd(18)} ${r.msPerStep.toFixed(0).padStart(6)} ms/step ${r.samplesPerSecond.toFixed(1).padStart(8)} samples/s${ratio}`);
}
const tasks = together[0].longTasks;
console.log(`main-thread long tasks while three workers trained: ${tasks.length}, longest ${tasks.length ? Math.max(...tasks).toFixed(0) : 0} ms`);
await browser.close();
await server.close();
