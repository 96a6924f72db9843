// Experiments on the page: any list of runs side by side, from one link.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, open, waitForState, exportText, pixelsOf, drawnAt } from "./harness.mjs";

let server, browser;
before(async () => {
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

// The first two runs' colours (src/web/page/view.rs).
const BLUE = [0x1f, 0x77, 0xb4];
const RED = [0xd6, 0x27, 0x28];

test("add a run, duplicate it, change its lr, train both: two labelled curves", async () => {
  const { page, context, errors } = await open(browser, server.url + "?runs=lstm&sample=400&epochs=1");
  // Replace the LSTM by an MLP: add one, remove the first.
  await page.selectOption("#add-model", "mlp");
  await page.click("[data-action=add-run]");
  await page.waitForSelector("#card-2");
  await page.click("#card-1 [data-action=remove]");
  await page.waitForFunction(() => !document.getElementById("card-2"));
  assert.equal(await page.inputValue("#knob-1-model"), "mlp");
  await page.click("#card-1 [data-action=duplicate]");
  await page.waitForSelector("#card-2");
  await page.fill("#knob-2-lr", "0.0001");
  await page.press("#knob-2-lr", "Enter");
  await page.waitForFunction(() => /2\.lr=0\.0001/.test(location.search));
  assert.match(page.url(), /runs=mlp,mlp/);
  await page.click("#controls [data-action=train]");
  await waitForState(page, "1", "finished");
  await waitForState(page, "2", "finished");
  assert.equal(await page.textContent("#label-1"), "MLP · lr 1e-3");
  assert.equal(await page.textContent("#label-2"), "MLP · lr 1e-4");
  const legend = await page.textContent("#legend");
  assert.match(legend, /MLP · lr 1e-3 validation/);
  assert.match(legend, /MLP · lr 1e-4 validation/);
  for (const [n, colour] of [["1", BLUE], ["2", RED]]) {
    const best = Number(await page.textContent(`#ranking-body tr[data-run='${n}'] .best`));
    assert.ok(await drawnAt(page, colour, 1, best), `run ${n}'s epoch-1 point is drawn at its cosine ${best}`);
  }
  assert.equal(await page.locator("#ranking-body tr").count(), 2);
  // Values under the pointer: at epoch 1 (the axis's right end, 170 px in from the edge).
  const box = await page.locator("#curves").boundingBox();
  await page.locator("#curves").hover({ position: { x: box.width * (730 / 900), y: box.height / 2 } });
  await page.waitForFunction(() => /^epoch 1: MLP · lr 1e-3 val 0\.\d{4}, train 0\.\d{4} · MLP · lr 1e-4 val/
    .test(document.getElementById("curve-hover").textContent));
  const a = JSON.parse(await exportText(page, "1", "json"));
  const b = JSON.parse(await exportText(page, "2", "json"));
  assert.equal(a.config.lr, 0.001);
  assert.equal(b.config.lr, 0.0001);
  assert.notDeepEqual(a.step_losses, b.step_losses);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a link with two Transformer runs reopens bit-identical in a fresh context", async () => {
  const link = server.url + "?sample=300&epochs=1&runs=transformer,transformer"
    + "&1.hidden=32&1.ff=64&1.heads=4&1.batch=32&2.hidden=32&2.ff=64&2.heads=4&2.batch=32&2.lr=0.0001";
  const losses = [];
  for (let k = 0; k < 2; k++) {
    const { page, context, errors } = await open(browser, link);
    await page.click("#controls [data-action=train]");
    await waitForState(page, "1", "finished");
    await waitForState(page, "2", "finished");
    const logs = [JSON.parse(await exportText(page, "1", "json")), JSON.parse(await exportText(page, "2", "json"))];
    assert.equal(await page.textContent("#label-2"), "Transformer · lr 1e-4");
    losses.push(logs.map((l) => [l.step_losses, l.epochs.map((e) => e.val.mean)]));
    assert.deepEqual(errors, []);
    await context.close();
  }
  assert.deepEqual(losses[1], losses[0], "same link, same numbers");
  assert.notDeepEqual(losses[0][0], losses[0][1], "the two runs differ");
});

test("eight runs queue for the pool's workers and all finish", async () => {
  const runs = Array(8).fill("mlp").join(",");
  const keys = Array.from({ length: 8 }, (_, i) => `${i + 1}.hidden=16&${i + 1}.seed=${i + 1}`).join("&");
  const { page, context, errors } = await open(browser, server.url + `?sample=300&epochs=1&runs=${runs}&${keys}`);
  // An isolated page (this server's) shares the cores, one training a core at most; a page
  // without threads keeps one core for itself.
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const pool = (await page.evaluate(() => crossOriginIsolated)) ? cores : Math.max(1, cores - 1);
  await page.click("#controls [data-action=train]");
  // At no time do more trainings hold a worker, or threads, than the cores allow.
  let most = 0, mostThreads = 0, queuedSeen = false;
  // Polled every 50 ms; a hang fails after 12,000 polls (10 minutes) instead of never ending.
  for (let polls = 0; ; polls++) {
    assert.ok(polls < 12_000, "the eight runs did not all finish");
    const states = await page.evaluate(() =>
      Array.from({ length: 8 }, (_, i) => document.getElementById(`status-${i + 1}`).textContent));
    const busy = states.filter((s) => !/^(queued|finished|not started)/.test(s));
    most = Math.max(most, busy.length);
    const threads = busy.map((s) => Number(/ on (\d+) threads?/.exec(s)?.[1] ?? 1));
    mostThreads = Math.max(mostThreads, threads.reduce((a, b) => a + b, 0));
    queuedSeen ||= states.some((s) => s.startsWith("queued"));
    if (states.every((s) => s.startsWith("finished"))) break;
    assert.ok(!states.some((s) => s.startsWith("failed")), states.join("\n"));
    await page.waitForTimeout(50);
  }
  assert.ok(most <= pool, `${most} trainings at once with a pool of ${pool}`);
  assert.ok(mostThreads <= cores, `${mostThreads} threads at once on ${cores} cores`);
  if (pool < 8) assert.ok(queuedSeen, "runs beyond the pool waited their turn");
  assert.equal(await page.locator("#ranking-body tr").count(), 8);
  assert.deepEqual(errors, []);
  await context.close();
});

test("seeds of one run: a band in the plot, mean ± spread in the table", async () => {
  const { page, context, errors } = await open(browser,
    server.url + "?sample=300&epochs=2&runs=mlp,mlp&1.hidden=16&1.repeats=3&2.hidden=16&2.lr=0.01");
  await page.click("#controls [data-action=train]");
  await page.waitForFunction(() => {
    const s = document.getElementById("status-1").textContent;
    return (s.match(/finished/g) ?? []).length === 3 && document.getElementById("status-2").textContent.startsWith("finished");
  }, null, { timeout: 300_000 });
  assert.equal(await page.textContent("#label-1"), "MLP · lr 1e-3 · 3 seeds");
  const row = await page.textContent("#ranking-body tr[data-run='1'] .best");
  assert.match(row, /^0\.\d{4} ± 0\.\d{4}$/);
  assert.match(await page.textContent("#legend"), /mean of 3 seeds/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("at phone width the page does not scroll sideways", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 800 } });
  const page = await context.newPage();
  await page.goto(server.url + "?runs=mlp,lstm,transformer");
  await page.waitForSelector("#controls [data-action=train]:not([disabled])", { state: "attached" });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `laid out ${width} px wide`);
  // The curves are drawn at the width they are shown, so their 12 px labels stay 12 px.
  const [drawnWidth, shownWidth] = await page.evaluate(() => {
    const c = document.getElementById("curves");
    return [c.width, c.getBoundingClientRect().width];
  });
  assert.ok(Math.abs(drawnWidth - shownWidth) <= 1 && shownWidth < 390, `drawn ${drawnWidth} px, shown ${shownWidth} px`);
  await context.close();
});

test("a lesson opens for a class and shows its full-data curves without training", async () => {
  const { page, context, errors } = await open(browser,
    server.url + "?lesson=baselines&dataset=wiki-29k&runs=mlp,lstm,transformer&hide=controls");
  assert.match(await page.textContent("#lesson"), /What the baselines mean/);
  assert.equal(await page.isVisible("#controls"), false, "a class sees no controls");
  await page.waitForFunction(() => document.querySelectorAll("#ranking-body tr").length === 3,
    null, { timeout: 60_000 });
  // The shipped logs' figures, as trained on the full data; no worker trained anything.
  for (const [n, m] of [["1", "mlp"], ["2", "lstm"], ["3", "transformer"]]) {
    const log = JSON.parse(await (await fetch(server.url + `datasets/wiki-29k/pretrained/${m}.json`)).text());
    const best = log.epochs[log.best_epoch - 1].val.mean.toFixed(4);
    assert.equal(await page.textContent(`#ranking-body tr[data-run='${n}'] .best`), best, m);
    assert.match(await page.textContent(`#status-${n}`), /^finished/);
  }
  const drawn = await pixelsOf(page, "curves", BLUE);
  assert.ok(drawn > 0, "the MLP's stored curve is drawn");
  assert.match(await page.textContent("#legend"), /Transformer validation/);
  // Drag to zoom: the y range becomes the values under the rows dragged over (the plot spans
  // canvas rows 14 to 306 of 340), the curves redraw larger; a double-click shows all again.
  const range = async () => (await page.getAttribute("#curves", "data-y-range")).split(",").map(Number);
  const [lo, hi] = await range();
  // The mouse acts where the page shows the plot: scroll it into view first.
  await page.locator("#curves").scrollIntoViewIfNeeded();
  const box = await page.locator("#curves").boundingBox();
  const at = (row) => box.y + box.height * row / 340;
  await page.mouse.move(box.x + box.width / 3, at(14 + 292 * 0.25));
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 3, at(14 + 292 * 0.75), { steps: 4 });
  await page.mouse.up();
  await page.waitForFunction((old) => document.getElementById("curves").getAttribute("data-y-range") !== old,
    `${lo},${hi}`);
  const [zlo, zhi] = await range();
  const [wlo, whi] = [hi - 0.75 * (hi - lo), hi - 0.25 * (hi - lo)];
  const tol = 0.02 * (hi - lo);
  assert.ok(Math.abs(zlo - wlo) < tol && Math.abs(zhi - whi) < tol,
    `zoomed to ${zlo},${zhi}; the rows dragged over show ${wlo},${whi}`);
  assert.notEqual(await pixelsOf(page, "curves", BLUE), drawn, "the zoomed curve is redrawn at its new scale");
  await page.dblclick("#curves");
  await page.waitForFunction((old) => document.getElementById("curves").getAttribute("data-y-range") === old,
    `${lo},${hi}`);
  assert.equal(await pixelsOf(page, "curves", BLUE), drawn, "reset, the curve is drawn as before");
  // The menu lists every lesson as a class link.
  const links = await page.$$eval("#lessons-menu a", (as) => as.map((a) => a.getAttribute("href")));
  assert.ok(links.length >= 4 && links.every((l) => /lesson=.*hide=controls/.test(l)), links.join("\n"));
  assert.deepEqual(errors, []);
  await context.close();
});

test("the page with no query shows the study's shipped curves at once", async () => {
  const { page, context, errors } = await open(browser, server.url);
  assert.match(await page.textContent("#lesson"), /What the baselines mean/);
  assert.equal(await page.isVisible("#controls"), true);
  await page.waitForFunction(() => document.querySelectorAll("#ranking-body tr").length === 3,
    null, { timeout: 60_000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test("run logs opened on the page show as runs, as if trained there", async () => {
  const { page, context, errors } = await open(browser, server.url + "?runs=mlp");
  const dir = new URL("../../datasets/wiki-29k/pretrained/", import.meta.url).pathname;
  await page.setInputFiles("#open-results", [`${dir}mlp.json`, `${dir}lstm.json`]);
  await page.waitForSelector("#card-3");
  await page.waitForFunction(() => document.querySelectorAll("#ranking-body tr").length === 2);
  // The page took the logs' data (all windows), and lists the logged runs after its own.
  assert.match(page.url(), /sample=0&/);
  assert.match(page.url(), /runs=mlp,mlp,lstm/);
  assert.equal(await page.inputValue("#shared-sample"), "0");
  assert.match(await page.textContent("#label-3"), /^LSTM/);
  const log = JSON.parse(await (await fetch(server.url + "datasets/wiki-29k/pretrained/lstm.json")).text());
  assert.equal(await page.textContent("#ranking-body tr[data-run='3'] .best"),
    log.epochs[log.best_epoch - 1].val.mean.toFixed(4));
  // Dropped anywhere on the page: the same.
  const text = await (await fetch(server.url + "datasets/wiki-29k/pretrained/transformer.json")).text();
  await page.evaluate((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], "run.json", { type: "application/json" }));
    document.body.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, text);
  await page.waitForSelector("#card-4");
  assert.match(await page.textContent("#label-4"), /^Transformer/);
  // Not a run log: named, nothing else changes.
  await page.setInputFiles("#open-results", { name: "notes.json", mimeType: "application/json", buffer: Buffer.from("{\"a\":1}") });
  await page.waitForFunction(() => /notes\.json is not a run log/.test(document.getElementById("notices").textContent));
  assert.equal(await page.locator("#cards .card").count(), 4);
  assert.deepEqual(errors, []);
  await context.close();
});
