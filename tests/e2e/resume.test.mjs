// Runs saved in the browser after every epoch survive a reload and a dead worker: resuming
// gives the step losses and validation cosines of a run that never stopped.
// Needs dist/ (trunk build --release) and /usr/bin/chromium; run with `npm run e2e`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, open, waitForState, exportText } from "./harness.mjs";

let server, browser;
before(async () => {
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

// Three epochs of about 220 steps each: long enough that a reload or a kill lands inside one.
const RUN = "?runs=mlp&1.hidden=256&1.batch=16&sample=4000&epochs=3&seed=11";

/** What must come out the same: every step's loss and every epoch's validation cosine. */
function figures(log) {
  return { steps: log.step_losses, val: log.epochs.map((e) => e.val.mean) };
}

let uninterrupted;
async function reference() {
  if (uninterrupted) return uninterrupted;
  const { page, context, errors } = await open(browser, server.url + RUN);
  await page.click("[data-action=train]");
  await waitForState(page, "1", "finished");
  await page.waitForSelector("#saved-1:has-text('after epoch 3')");
  uninterrupted = figures(JSON.parse(await exportText(page, "1", "json")));
  assert.equal(uninterrupted.val.length, 3);
  assert.deepEqual(errors, []);
  await context.close();
  return uninterrupted;
}

const resumeButton = "#card-1 [data-action=resume-saved]";

/**
 * Runs in the page: keeps every worker it starts (to kill one) with the step of the first
 * progress it reported, which tells a resumed run (it goes on after the saved epochs) from
 * one that started over (step 1) when both give the same bits.
 */
function recordWorkers() {
  const Base = window.Worker;
  window.startedWorkers = [];
  window.Worker = class extends Base {
    constructor(url, options) {
      super(url, options);
      window.startedWorkers.push(this);
      this.addEventListener("message", (e) => {
        const m = JSON.parse(typeof e.data === "string" ? e.data : e.data[0]);
        if (m.type === "event" && m.event.type === "progress") this.firstStep ??= m.event.step;
      });
    }
  };
}

const firstStep = (page) => page.evaluate(() => window.startedWorkers.at(-1).firstStep);

/** Opens RUN at `base`, trains it until epoch 1 is saved and reloads: the resume button's label. */
async function reloadAfterEpoch1(base) {
  const opened = await open(browser, base + RUN, { init: recordWorkers });
  const { page } = opened;
  assert.equal(await page.textContent("#saved-status"), "No runs saved in this browser.");
  await page.click("[data-action=train]");
  await page.waitForSelector("#saved-1:has-text('Saved in this browser after epoch 1')", { timeout: 300_000 });
  await page.reload();
  await page.waitForSelector("#controls [data-action=train]:not([disabled])", { state: "attached" });
  await page.waitForSelector(resumeButton, { state: "visible" });
  // The reload may land after epoch 2 was saved too; either is a saved epoch to go on from.
  const label = await page.textContent(resumeButton);
  assert.match(label, /^Resume from epoch [12]$/);
  return { ...opened, label };
}

/** Clicks the resume button labelled `label`, waits for the end; the run's log. */
async function resumeToTheEnd(page, label, whole) {
  await page.click(resumeButton);
  await waitForState(page, "1", "finished");
  const perEpoch = whole.steps.length / 3;
  assert.equal(await firstStep(page), Number(label.at(-1)) * perEpoch + 1, "it went on after the saved epochs");
  return JSON.parse(await exportText(page, "1", "json"));
}

test("a reload after epoch 1 offers the saved run, and resuming it gives the bits of a run that never stopped", async () => {
  const whole = await reference();
  const { page, context, errors, label } = await reloadAfterEpoch1(server.url);
  assert.match(await page.textContent("#saved-status"), /^1 saved run, [\d.]+ MB\.$/);
  assert.match(await page.textContent("#saved-1"), /^Saved in this browser: epoch [12] of 3/);
  // What is stored is a training state as `lvm train` writes it (`--resume` reads it).
  const meta = await page.evaluate(async () => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("runs");
    for await (const handle of dir.values()) {
      const file = await handle.getFile();
      const n = new DataView(await file.slice(0, 8).arrayBuffer()).getBigUint64(0, true);
      return JSON.parse(await file.slice(8, 8 + Number(n)).text()).__metadata__;
    }
  });
  assert.equal(meta.format, "lvm-playground-train-state/1");
  assert.match(meta.config, /(^|&)model=mlp(&|$)/);
  assert.match(meta.config, /(^|&)hidden=256(&|$)/);
  const log = await resumeToTheEnd(page, label, whole);
  assert.deepEqual(figures(log), whole, "same loss at every step, same validation cosines");
  await page.waitForSelector("#saved-1:has-text('after epoch 3')");
  assert.match(await page.textContent("#saved-1"), /Resumed from epoch [12]\.$/);
  assert.equal(await page.isVisible(resumeButton), false, "nothing to resume once finished here");

  // Forgetting removes it: after another reload nothing is offered.
  await page.click("[data-action=forget-saved]");
  await page.waitForSelector("#saved-status:has-text('No runs saved in this browser.')");
  await page.reload();
  await page.waitForSelector("#saved-status:has-text('No runs saved in this browser.')");
  assert.equal(await page.isVisible(resumeButton), false);
  assert.deepEqual(errors, []);
  await context.close();
});

test("on a page that is not isolated (one thread a worker) a reload and resume give the same bits too", async () => {
  const whole = await reference();
  const plain = await serve({ isolated: false });
  try {
    const { page, context, errors, label } = await reloadAfterEpoch1(plain.url);
    assert.match(await page.textContent("#status-1"), /^not started/);
    const log = await resumeToTheEnd(page, label, whole);
    assert.match(await page.textContent("#status-1"), / on 1 thread/);
    assert.deepEqual(figures(log), whole, "the bits of the threaded run that never stopped");
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await plain.close();
  }
});

test("a worker killed mid-epoch: its card offers the last saved epoch, and resuming gives the same bits", async () => {
  const whole = await reference();
  const { page, context, errors } = await open(browser, server.url + RUN, { init: recordWorkers });
  await page.click("[data-action=train]");
  await page.waitForSelector("#saved-1:has-text('after epoch 1')", { timeout: 300_000 });
  await page.waitForFunction(() => {
    const m = /epoch 2\/3, step (\d+)\//.exec(document.getElementById("status-1").textContent);
    return m && Number(m[1]) >= 20;
  }, null, { timeout: 120_000, polling: 50 });
  // terminate() ends the worker at once, as running out of memory would; the browser fires
  // "error" at a worker that crashes, but not at one terminated, so the test fires it.
  await page.evaluate(() => {
    const worker = window.startedWorkers.at(-1);
    worker.terminate();
    worker.dispatchEvent(new ErrorEvent("error", { message: "terminated by the test" }));
  });
  await page.waitForSelector("#error-1:not([hidden])");
  assert.match(await page.textContent("#error-1"), /worker crashed.*terminated by the test/);
  await page.waitForSelector(resumeButton, { state: "visible" });
  assert.equal(await page.textContent(resumeButton), "Resume from epoch 1");
  await page.click(resumeButton);
  await waitForState(page, "1", "finished");
  assert.equal(await page.isVisible("#error-1"), false, "the crash message went with the new worker");
  assert.equal(await firstStep(page), whole.steps.length / 3 + 1, "it went on after epoch 1");
  const log = JSON.parse(await exportText(page, "1", "json"));
  assert.deepEqual(figures(log), whole, "same loss at every step, same validation cosines");
  assert.deepEqual(errors, []);
  await context.close();
});

test("storage full: the card says the run is not saved, and training goes on", async () => {
  const { page, context, errors } = await open(browser, server.url + "?runs=mlp&1.hidden=256&sample=600&epochs=2");
  await page.waitForSelector("#data-status:has-text('Ready')", { timeout: 120_000 });
  // What the page already stores (the dataset) and 1 MB more, less than one saved state.
  const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Storage.overrideQuotaForOrigin", {
    origin: new URL(server.url).origin,
    quotaSize: usage + 1_000_000,
  });
  await page.click("[data-action=train]");
  await waitForState(page, "1", "finished");
  await page.waitForSelector("#saved-1:has-text('Not saved')");
  assert.match(await page.textContent("#saved-1"),
    /^Not saved: the browser's storage for this page is full \(the run's state is [\d.]+ MB(, [\d.]+ MB free)?\); "Forget saved runs" frees what saved runs hold\. Training goes on unsaved\.$/);
  const log = JSON.parse(await exportText(page, "1", "json"));
  assert.equal(log.epochs.length, 2, "both epochs trained");
  assert.deepEqual(errors, []);
  await context.close();
});
