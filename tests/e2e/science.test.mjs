// Issue 24 on the page: the linear model and windows=within train here, and the lessons on the
// campaign's run logs open with their curves and the ridge line, without training.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, open, waitForState, drawnAt } from "./harness.mjs";

let server, browser;
before(async () => {
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

// The fourth run's colour (src/web/page/view.rs).
const PURPLE = [0x94, 0x67, 0xbd];

test("windows=within picked on the page, a linear run trains on what remains", async () => {
  const { page, context, errors } = await open(browser,
    server.url + "?dataset=brown-29k&runs=linear&sample=400&epochs=1");
  await page.waitForFunction(() => /Ready/.test(document.getElementById("data-status").textContent),
    null, { timeout: 120_000 });
  // brown-29k's manifest: 29,317 windows of 5, 27,987 inside one document (95%).
  assert.match(await page.textContent("#data-status"), /27987 of its 29317 windows of 5 sentences lie inside one document \(95%\)\./);
  await page.selectOption("#shared-windows", "within");
  await page.waitForFunction(() => /windows=within/.test(location.search));
  assert.match(await page.textContent("#data-status"), /this page's runs keep only those/);
  assert.equal(await page.isVisible("#knob-1-hidden"), false, "a linear run has no hidden layer");
  await page.click("#controls [data-action=train]");
  await waitForState(page, "1", "finished");
  // Context 5 · 768 inputs to 768 outputs, with biases.
  assert.equal(await page.textContent("#params-1"), "2,949,888 params");
  assert.match(await page.textContent("#card-1"), /360 training \/ 40 validation windows/);
  assert.match(await page.textContent("#ranking-body tr[data-run='1'] .best"), /^0\.\d{4}$/);
  // A sample is not the full data: no ridge line (its figure is the full data's).
  assert.doesNotMatch(await page.textContent("#legend"), /ridge/);
  assert.deepEqual(errors, []);
  await context.close();
});

// Each seed's best validation cosine, and their mean.
const bests = (logs) => logs.map((log) => log.epochs[log.best_epoch - 1].val.mean);
const meanBest = (logs) => bests(logs).reduce((a, b) => a + b, 0) / logs.length;

// A run's best validation cosine over its seeds as the ranking prints it: the mean, and
// half the range where there is more than one seed.
function bestOverSeeds(logs) {
  const each = bests(logs);
  const mean = meanBest(logs);
  const half = (Math.max(...each) - Math.min(...each)) / 2;
  return logs.length > 1 ? `${mean.toFixed(4)} ± ${half.toFixed(4)}` : mean.toFixed(4);
}

// A campaign run's shipped logs (datasets/<dataset>/runs/campaign-<run>-seed<seed>.json), one per seed.
const shipped = (run, seeds, dataset = "wiki-29k") => Promise.all(seeds.map(async (seed) =>
  JSON.parse(await (await fetch(server.url + `datasets/${dataset}/runs/campaign-${run}-seed${seed}.json`)).text())));

// Waits until the card of run `run` (1-based) shows `n` finished seeds.
const seedsFinished = (page, run, n) => page.waitForFunction(([run, n]) =>
  (document.getElementById(`status-${run}`).textContent.match(/finished/g) ?? []).length === n,
  [run, n], { timeout: 60_000 });

test("the lesson 'Does the MLP still win?' opens on the campaign's logs with the ridge line", async () => {
  const { page, context, errors } = await open(browser, server.url + "?lesson=still-win");
  assert.match(await page.textContent("#lesson"), /Does the MLP still win\?/);
  await page.waitForFunction(() => document.querySelectorAll("#ranking-body tr").length === 4,
    null, { timeout: 60_000 });
  // Per run, its seeds' logs (src/experiment/lessons.rs): two seeds or more show a band and
  // mean ± spread.
  const runs = [
    ["mlp-lr0.001-skip-last", [42, 43, 44]],
    ["transformer-lr0.0001-skip-last", [42, 43, 44]],
    ["linear-lr0.001-skip-last", [42, 43, 44]],
    ["lstm-lr0.0003-skip-last", [42, 43, 44]],
  ];
  for (const [i, [run, seeds]] of runs.entries()) {
    const logs = await shipped(run, seeds);
    await seedsFinished(page, i + 1, seeds.length);
    assert.equal(await page.textContent(`#ranking-body tr[data-run='${i + 1}'] .best`), bestOverSeeds(logs), run);
    if (seeds.length > 1) assert.match(await page.textContent(`#label-${i + 1}`), new RegExp(`· ${seeds.length} seeds$`));
    if (i === 3) {
      // The stored curves are drawn: the mean over the seeds at the earliest best epoch.
      const at = Math.min(...logs.map((log) => log.best_epoch));
      const value = logs.reduce((sum, log) => sum + log.epochs[at - 1].val.mean, 0) / logs.length;
      assert.ok(await drawnAt(page, PURPLE, at, value), `the LSTM's stored curve is drawn: epoch ${at} at ${value}`);
    }
  }
  assert.match(await page.textContent("#legend"),
    new RegExp(`MLP .* validation \\(mean of ${runs[0][1].length} seeds, band = their range\\)`));
  // The full data's baselines, ridge among them (results/ridge/wiki-29k.txt).
  assert.match(await page.textContent("#legend"), /copy-last 0\.4528 · .* · ridge 0\.4619 \(ridge: the full data's/);
  // Nothing trained: no dataset download was needed to show it.
  assert.match(await page.textContent("#data-status"), /not downloaded yet/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the lesson on a straight line shows the linear runs against the MLP and ridge", async () => {
  const { page, context, errors } = await open(browser, server.url + "?lesson=linear");
  await page.waitForFunction(() => document.querySelectorAll("#ranking-body tr").length === 4,
    null, { timeout: 60_000 });
  assert.match(await page.textContent("#legend"), /ridge 0\.4619/);
  const seeds = [42, 43, 44];
  assert.match(await page.textContent("#label-1"), new RegExp(`^Linear.* · ${seeds.length} seeds$`));
  const runs = ["linear-lr0.001", "mlp-lr0.001", "linear-lr0.001-skip-last", "mlp-lr0.001-skip-last"];
  for (const [i, run] of runs.entries()) {
    const logs = await shipped(run, seeds);
    await seedsFinished(page, i + 1, seeds.length);
    assert.equal(await page.textContent(`#ranking-body tr[data-run='${i + 1}'] .best`), bestOverSeeds(logs), run);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test("the lesson inside one document opens on brown-29k's within-document logs and its ridge line", async () => {
  const { page, context, errors } = await open(browser, server.url + "?lesson=within");
  assert.match(await page.textContent("#lesson"), /Inside one document/);
  await page.waitForFunction(() => document.querySelectorAll("#ranking-body tr").length === 6,
    null, { timeout: 60_000 });
  const seeds = [42, 43, 44];
  const runs = ["linear-lr0.001", "mlp-lr0.001", "linear-lr0.001-skip-mean", "mlp-lr0.001-skip-mean",
    "lstm-lr0.0003-skip-mean", "transformer-lr0.0003-warmup400-skip-mean"];
  for (const [i, run] of runs.entries()) {
    const logs = await shipped(run, seeds, "brown-29k");
    await seedsFinished(page, i + 1, seeds.length);
    assert.equal(await page.textContent(`#ranking-body tr[data-run='${i + 1}'] .best`), bestOverSeeds(logs), run);
    // The margin is over the best baseline, here mean-of-context (0.4188), not copy-last (0.3348).
    const mean = meanBest(logs);
    const margin = Number(await page.textContent(`#ranking-body tr[data-run='${i + 1}'] .margin`));
    assert.ok(Math.abs(margin - (mean - logs[0].baselines.mean_context.mean)) < 1e-4, `${run}: margin ${margin}`);
  }
  // The LSTM with the same skip ties the MLP: their ranges over seeds meet.
  assert.match(await page.textContent("#ranking-body tr[data-run='5'] .noise"), /within seed noise of .*MLP/);
  // The Transformer collapses with the same skip: no nearer the MLP than the linear map is.
  const transformer = await page.textContent("#ranking-body tr[data-run='6'] .noise");
  assert.match(transformer, /Linear/);
  assert.doesNotMatch(transformer, /MLP|LSTM/);
  // brown-29k's within-document baselines on the full data, ridge among them
  // (results/ridge/brown-29k.txt): the mean of the context beats copying the last sentence.
  assert.match(await page.textContent("#legend"), /copy-last 0\.3348 · mean-of-context 0\.4188 · .* · ridge 0\.4272/);
  assert.match(await page.textContent("#data-status"), /not downloaded yet/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the collapse lesson's lr-1e-4 Transformer opens on three seeds of the campaign", async () => {
  const { page, context, errors } = await open(browser, server.url + "?lesson=collapse");
  const seeds = [42, 43, 44];
  await seedsFinished(page, 2, seeds.length);
  const logs = await shipped("transformer-lr0.0001", seeds);
  assert.equal(await page.textContent("#ranking-body tr[data-run='2'] .best"), bestOverSeeds(logs));
  assert.match(await page.textContent("#label-2"), new RegExp(`lr 1e-4 .*· ${seeds.length} seeds$`));
  assert.deepEqual(errors, []);
  await context.close();
});
