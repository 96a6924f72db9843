// Wasm threads: a cross-origin-isolated page trains each run on a rayon pool inside its worker,
// and the same link gives the same bits at 1, 2 and 3 threads and in the single-threaded build.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, open, waitForState, exportText, trainInWorker } from "./harness.mjs";

let isolated, plain, browser;
before(async () => {
  isolated = await serve();
  plain = await serve({ isolated: false });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await isolated?.close();
  await plain?.close();
});

// Products above gemm's threading threshold in all three: the MLP's [128, 3840]·[3840, 1024],
// the LSTM's recurrent [128, 1024]·[1024, 4096], the Transformer's [320, 512]·[512, 2048].
const CONFIGS = [
  "model=mlp&sample=600&epochs=2",
  "model=lstm&sample=300&epochs=1",
  "model=transformer&sample=300&epochs=1",
];

test("a worker trains to the same bits at 1, 2 and 3 threads and in the single-threaded build", async () => {
  const { page, context, errors } = await open(browser, isolated.url + "?runs=mlp");
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  await page.waitForFunction(() => / Ready\.$/.test(document.getElementById("data-status").textContent),
    null, { timeout: 600_000 });
  const dataset = "datasets/wiki-29k/";
  for (const c of CONFIGS) {
    const config = `dataset=wiki-29k&${c}`;
    const single = await trainInWorker(page, config, dataset);
    const one = await trainInWorker(page, config, dataset, 1);
    const two = await trainInWorker(page, config, dataset, 2);
    assert.deepEqual([single.threads, one.threads, two.threads], [1, 1, 2], c);
    assert.ok(single.epochs.length > 0 && single.losses.length > 0, c);
    assert.deepEqual(one, { ...single, threads: 1 }, `${c}: threaded build at 1 thread`);
    assert.deepEqual(two, { ...single, threads: 2 }, `${c}: 2 threads`);
    // More threads than cores, and a split of the elementwise maps' units that is not even:
    // the same bits still.
    assert.deepEqual(await trainInWorker(page, config, dataset, 3), { ...single, threads: 3 }, `${c}: 3 threads`);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

/** Trains the link's one run on the page to its end: its status line and exported log. */
async function trainOnPage(url) {
  const { page, context, errors } = await open(browser, url);
  await waitForState(page, "1", "finished");
  const status = await page.textContent("#status-1");
  const note = await page.textContent("#threads-note");
  const log = JSON.parse(await exportText(page, "1", "json"));
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.deepEqual(errors, []);
  await context.close();
  return { status, note, log, cores };
}

test("the page gives one run every core when isolated, one thread when not, same numbers", async () => {
  const link = "?runs=transformer&sample=300&epochs=1&autostart=1";
  const threaded = await trainOnPage(isolated.url + link);
  const single = await trainOnPage(plain.url + link);
  const n = threaded.cores;
  assert.match(threaded.status, new RegExp(`^finished on ${n} threads?: epoch 1/1`));
  assert.match(threaded.note, new RegExp(`the ${n} cores are shared`));
  assert.match(single.status, /^finished on 1 thread: epoch 1\/1/);
  assert.match(single.note, /not cross-origin isolated/);
  const numbers = ({ step_losses, epochs }) =>
    ({ step_losses, epochs: epochs.map(({ seconds, samples_per_second, ...m }) => m) });
  assert.ok(threaded.log.step_losses.length > 0);
  assert.deepEqual(numbers(threaded.log), numbers(single.log));
});
