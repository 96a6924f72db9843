// The playground page in real headless Chromium, clicking what a user clicks.
// Needs dist/ (trunk build --release) and /usr/bin/chromium; run with `npm run e2e`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { serve, launch, open, totalSteps, waitForState, exportText, benchInWorker, productsInWorker, trainInWorker, drawnAt, barsMatch } from "./harness.mjs";

let server, browser;
before(async () => {
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const MLP_BLUE = [0x1f, 0x77, 0xb4];

test("train the MLP one epoch: plot, table, histogram and examples fill", async () => {
  const { page, context, errors } = await open(browser, server.url + "?models=mlp&sample=600&epochs=1");
  await page.waitForSelector("#data-status:has-text('Ready')", { timeout: 120_000 });
  await page.click("[data-action=train]");
  await waitForState(page, "1", "finished");
  const row = page.locator("#ranking-body tr[data-run='1']");
  await row.waitFor();
  const best = Number(await row.locator(".best").textContent());
  // The CLI's figure for this config, to the digit (the page trains the same bits):
  // lvm train --url "dataset=wiki-29k&sample=600&epochs=1&model=mlp" prints val cos 0.2162.
  assert.equal(best, 0.2162);
  assert.match(await row.textContent(), /4,720,384/);
  assert.ok(await drawnAt(page, MLP_BLUE, 1, best), "the MLP's epoch-1 point is drawn at its cosine");
  assert.ok(!(await drawnAt(page, MLP_BLUE, 1, best + 0.05)), "and not 0.05 above it");
  assert.match(await page.textContent("#legend"), /MLP validation/);
  assert.equal(await page.locator("#examples-list .example").count(), 3);
  assert.match(await page.textContent("#examples-list"), /MLP prediction: cosine/);
  // The exported log and CSV hold the same epoch.
  const log = JSON.parse(await exportText(page, "1", "json"));
  assert.equal(log.epochs.length, 1);
  assert.equal(log.epochs[0].val.mean.toFixed(4), best.toFixed(4));
  assert.equal(await barsMatch(page, "hist-1", MLP_BLUE, log.epochs[0].val.histogram.counts), true,
    "the MLP's histogram draws its validation cosines' counts");
  const csv = await exportText(page, "1", "csv");
  assert.match(csv.split("\n")[1], /^mlp,1,/);
  const weights = await exportText(page, "1", "weights");
  assert.ok(weights.includes("lvm-playground-checkpoint/1"));
  assert.deepEqual(errors, []);
  await context.close();
});

test("pause, single-step, resume and stop", async () => {
  const { page, context, errors } = await open(
    browser, server.url + "?models=mlp&sample=3000&epochs=3&mlp.batch=16");
  await page.click("[data-action=train]");
  await page.waitForFunction(() => /total \d+/.test(document.getElementById("status-1").textContent),
    null, { timeout: 120_000 });
  await page.click("#card-1 [data-action=pause]");
  await waitForState(page, "1", "paused");
  const paused = await totalSteps(page, "1");
  await page.waitForTimeout(1000);
  assert.equal(await totalSteps(page, "1"), paused, "no steps while paused");
  await page.click("#card-1 [data-action=step]");
  await page.waitForFunction((n) => document.getElementById("status-1").textContent.includes(`(total ${n})`),
    paused + 1);
  await page.waitForTimeout(500);
  assert.equal(await totalSteps(page, "1"), paused + 1, "one step, then paused again");
  assert.match(await page.textContent("#status-1"), /^paused/);
  await page.click("#card-1 [data-action=resume]");
  await page.waitForFunction((n) => {
    const m = /\(total (\d+)\)/.exec(document.getElementById("status-1").textContent);
    return m && Number(m[1]) > n + 3;
  }, paused + 1);
  await page.click("#controls [data-action=stop]");
  await waitForState(page, "1", "stopped");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a copied link reproduces the run bit for bit", async () => {
  const first = await open(browser, server.url + "?models=mlp&sample=800&epochs=2&seed=7&mlp.dropout=0.2&mlp.lr=0.002");
  await first.page.click("[data-action=train]");
  await waitForState(first.page, "1", "finished");
  const a = JSON.parse(await exportText(first.page, "1", "json"));
  await first.page.click("[data-action=copy-link]");
  const link = await first.page.inputValue("#share-link");
  assert.match(link, /runs=mlp&1\.dropout=0\.2&1\.lr=0\.002/, "an old link comes back in the new form");
  assert.match(link, /seed=7/);

  const second = await open(browser, link);
  assert.equal(await second.page.inputValue("#knob-1-dropout"), "0.2");
  assert.equal(await second.page.inputValue("#shared-sample"), "800");
  await second.page.click("[data-action=train]");
  await waitForState(second.page, "1", "finished");
  const b = JSON.parse(await exportText(second.page, "1", "json"));
  assert.equal(a.step_losses.length, 2 * Math.ceil(720 / 128));
  assert.deepEqual(b.step_losses, a.step_losses, "same loss at every step");
  assert.deepEqual(b.epochs.map((e) => e.val.mean), a.epochs.map((e) => e.val.mean));
  assert.deepEqual([...first.errors, ...second.errors], []);
  await first.context.close();
  await second.context.close();
});

test("a bad link names each bad parameter and keeps the defaults", async () => {
  const { page, context, errors } = await open(
    browser, server.url + "?mlp.lr=banana&bogus=1&sample=-5&models=mlp,cnn&%ZZ=1&epochs=2");
  const notice = await page.textContent("#notices");
  assert.match(notice, /parameter 'mlp\.lr': 'banana' is not a number/);
  assert.match(notice, /parameter 'bogus': is not a known parameter/);
  assert.match(notice, /parameter 'sample'/);
  assert.match(notice, /parameter 'models': 'cnn'/);
  assert.match(notice, /percent-encoded/);
  assert.equal(await page.inputValue("#knob-1-lr"), "0.001");
  assert.equal(await page.inputValue("#shared-epochs"), "2", "good keys are kept");
  // A bad value typed into a control is refused the same way.
  await page.fill("#knob-1-batch", "0");
  await page.press("#knob-1-batch", "Enter");
  await page.waitForSelector("#knob-1-batch.invalid");
  assert.match(await page.textContent("#notices"), /parameter '1.batch': '0' is not an integer in 1..=4096/);
  assert.doesNotMatch(page.url(), /1\.batch=0/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("every shipped pretrained model loads and shows its stated validation cosine", async () => {
  const dir = new URL("../../datasets/wiki-29k/pretrained/", import.meta.url);
  const models = (await readdir(dir)).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
  assert.ok(models.includes("mlp"), `shipped: ${models}`);
  // One run per shipped file, with its model and skip connection (`mlp-skip-last`).
  const configs = await Promise.all(models.map(async (m) =>
    JSON.parse(await readFile(new URL(`${m}.json`, dir), "utf8")).config));
  const skips = configs.map((c, i) => c.skip && c.skip !== "none" ? `&${i + 1}.skip=${c.skip}` : "").join("");
  const { page, context, errors } = await open(browser,
    server.url + `?runs=${configs.map((c) => c.model).join(",")}${skips}`);
  const cards = models.map((_, i) => String(i + 1));
  // All at once: each card loads its weights in its own worker.
  for (const n of cards) await page.click(`#card-${n} [data-action=pretrained]`);
  // The stored curves show at once, before the weights are evaluated.
  await page.waitForFunction((n) => /validation/.test(document.getElementById("legend").textContent)
    && document.querySelectorAll("#ranking-body tr").length === n, cards.length, { timeout: 60_000 });
  for (const [i, m] of models.entries()) {
    const n = cards[i];
    await page.waitForSelector(`#numbers-${n} b.val, #error-${n}:not([hidden])`, { timeout: 600_000 });
    assert.equal(await page.isHidden(`#error-${n}`), true, await page.textContent(`#error-${n}`));
    const ours = Number(await page.locator(`#numbers-${n} b.val`).textContent());
    const stated = JSON.parse(await readFile(new URL(`${m}.json`, dir), "utf8"));
    const best = stated.epochs[stated.best_epoch - 1].val.mean;
    assert.ok(Math.abs(ours - best) < 1e-3, `${m}: page ${ours} vs stated ${best}`);
    await page.locator(`#ranking-body tr[data-run='${n}']`).waitFor();
  }
  assert.match(await page.textContent("#ranking-body"), /MLP( · skip none)? \(pretrained\)/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("missing weights, a corrupt dataset and a crashed worker each show a clear message", async () => {
  // brown-29k ships without weights.
  const a = await open(browser, server.url + "?dataset=brown-29k&models=mlp");
  await a.page.click("#card-1 [data-action=pretrained]");
  await a.page.waitForSelector("#error-1:not([hidden])");
  assert.match(await a.page.textContent("#error-1"), /No pretrained MLP weights for brown-29k.*HTTP 404/);
  await a.context.close();

  // A NaN in the vectors: the download is reported as corrupt and nothing else breaks.
  // Service workers blocked: a request the site's worker makes is not seen by page.route.
  const context = await browser.newContext({ serviceWorkers: "block" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.route("**/datasets/wiki-29k/vectors.npy", async (route) => {
    const response = await route.fetch();
    const body = Buffer.from(await response.body());
    body.writeUInt16LE(0x7e00, body.length - 2); // the last value becomes NaN
    await route.fulfill({ response, body });
  });
  await page.goto(server.url + "?models=mlp&sample=600&epochs=1");
  await page.click("[data-action=train]");
  await page.waitForSelector("#error-1:not([hidden])", { timeout: 120_000 });
  assert.match(await page.textContent("#error-1"), /corrupt.*not finite/);
  assert.match(await page.textContent("#data-status"), /corrupt/);
  assert.deepEqual(errors, []);
  await context.close();

  // A worker that dies (an uncaught error in the LSTM's worker, as running out of memory
  // would end it): its card says so, the other run finishes. Runs too big for a worker are
  // refused before they start (the test below).
  const b = await open(browser, server.url + "?runs=mlp,lstm&sample=600&epochs=1");
  await b.page.click("[data-action=train]");
  await waitForState(b.page, "2", "training");
  let lstm;
  for (const w of b.page.workers()) {
    if ((await w.evaluate(() => self.name).catch(() => "")).startsWith("lvm-lstm")) lstm = w;
  }
  assert.ok(lstm, "the LSTM's worker");
  await lstm.evaluate(() => { setTimeout(() => { throw new Error("a crash for the test"); }); });
  await b.page.waitForSelector("#error-2:not([hidden])", { timeout: 60_000 });
  assert.match(await b.page.textContent("#error-2"), /worker crashed.*a crash for the test/);
  await waitForState(b.page, "1", "finished");
  await b.context.close();
});

test("a worker measures lvm bench's figures for a config", async () => {
  const { page, context, errors } = await open(browser, server.url + "?models=mlp");
  const s = await benchInWorker(page, "model=mlp&sample=600&batch=50&hidden=64", 4);
  await context.close();
  // The config's batch, and figures that add up: the step's parts fit inside the step.
  assert.equal(s.batch, 50);
  for (const k of ["train_ms_per_step", "train_samples_per_second", "infer_ms_per_batch", "infer_samples_per_second"]) {
    assert.ok(Number.isFinite(s[k]) && s[k] > 0, `${k} = ${s[k]}`);
  }
  const parts = Object.values(s.train_phases_ms).reduce((a, b) => a + b, 0);
  assert.ok(parts > 0 && parts <= s.train_ms_per_step + 1e-9, `${parts} vs ${s.train_ms_per_step}`);
  assert.deepEqual(errors, []);
});

test("a worker times the study's matrix products alone", async () => {
  const { page, context, errors } = await open(browser, server.url + "?models=mlp");
  const rates = await productsInWorker(page, 1);
  await context.close();
  // The three shapes `lvm bench` times, each with a rate that is its flops over its time.
  assert.deepEqual(rates.map((r) => [r.m, r.k, r.n]), [[128, 3840, 1024], [128, 1024, 4096], [320, 512, 2048]]);
  for (const r of rates) {
    assert.ok(Number.isFinite(r.ms) && r.ms > 0, `${r.what}: ${r.ms} ms`);
    const gflops = (2 * r.m * r.k * r.n) / (r.ms / 1000) / 1e9;
    assert.ok(Math.abs(r.gflops - gflops) <= 1e-9 * gflops, `${r.what}: ${r.gflops} vs ${gflops}`);
  }
  assert.deepEqual(errors, []);
});

test("the library trains from a plain JS page (pkg/)", async () => {
  const { page, context, errors } = await open(browser, server.url + "?models=mlp");
  const result = await page.evaluate(async () => {
    const lib = await import("/pkg/lvm_playground.js");
    await lib.default();
    const bytes = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
    const manifest = await bytes("datasets/wiki-29k/manifest.json");
    const vectors = await bytes("datasets/wiki-29k/vectors.npy");
    let refused = "";
    try { new lib.Run("model=mlp&lr=banana", manifest, vectors); } catch (e) { refused = String(e); }
    const run = new lib.Run("model=mlp&sample=300&epochs=1", manifest, vectors);
    const started = run.started();
    const types = [];
    for (const e of run.command('{"type":"run"}')) types.push(e.type);
    while (run.state() === "running") for (const e of run.work(1)) types.push(e.type);
    const log = JSON.parse(run.exportLog());
    return { refused, params: started.params, types, epochs: log.epochs.length,
             weights: run.exportWeights().length, csv: run.exportCsv().split("\n")[0] };
  });
  assert.match(result.refused, /parameter 'lr'/);
  assert.equal(result.params, 4_720_384);
  assert.deepEqual([...new Set(result.types)], ["state", "progress", "epoch", "examples"]);
  assert.equal(result.epochs, 1);
  assert.ok(result.weights > 4_720_384 * 4);
  assert.match(result.csv, /^model,epoch/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a run too big for a worker's 4 GiB is refused with its estimate before any worker starts", async () => {
  // Every worker the page starts, by name.
  const init = () => {
    const Base = window.Worker;
    window.startedWorkers = [];
    window.Worker = class extends Base {
      constructor(url, options) {
        super(url, options);
        window.startedWorkers.push(options?.name ?? String(url));
      }
    };
  };
  const { page, context, errors } = await open(browser,
    server.url + "?runs=lstm,mlp&1.hidden=8192&1.layers=16&sample=300&epochs=1", { init });
  await page.waitForSelector("#data-status:has-text('Ready')", { timeout: 120_000 });
  await page.click("[data-action=train]");
  await page.waitForSelector("#error-1:not([hidden])");
  assert.equal(await page.textContent("#status-1"), "failed");
  const status = await page.textContent("#error-1");
  assert.match(status, /^Not started: this run needs at least [\d.]+ GiB and a browser worker \(wasm32\) has 4\.0 GiB: 8,421,122,816 parameters/);
  // The other run trains as usual.
  await waitForState(page, "2", "finished");
  const started = await page.evaluate(() => window.startedWorkers);
  assert.equal(started.length, 1, `${started}`);
  assert.match(started[0], /^lvm-mlp-/);
  // A worker asked directly (a plain JS page, the harness) refuses it too.
  await assert.rejects(trainInWorker(page, "model=lstm&hidden=8192&layers=16&sample=300&epochs=1",
    "datasets/wiki-29k/"), /config: this run needs at least 158\.9 GiB/);
  assert.deepEqual(errors, []);
  await context.close();
});
