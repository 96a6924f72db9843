// The built site as a static host serves it: under a sub-path, with no headers of its own
// (GitHub Pages, say). The site's service worker (www/sw.js) makes the page cross-origin
// isolated after one reload and keeps the app for offline visits (docs/publish.md).
// Needs dist/ (trunk build --release) and /usr/bin/chromium; run with `npm run e2e`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { serve, launch, open, waitForState, exportText, drawnAt, DIST } from "./harness.mjs";

const PREFIX = "/lvm-playground/";
let site, browser;
before(async () => {
  site = await serve({ isolated: false, prefix: PREFIX });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await site?.close();
});

const MLP_BLUE = [0x1f, 0x77, 0xb4];
const withWorker = { serviceWorkers: "allow" };

/** Every main-frame document the page loads, in order (a reload is one more). */
function countLoads(page) {
  const loads = [];
  page.on("load", () => loads.push(page.url()));
  return loads;
}

/** The build's version and app files, as scripts/site_version.sh stamped them into sw.js. */
async function stamped() {
  const sw = await readFile(join(DIST, "sw.js"), "utf8");
  const build = /const BUILD = "([0-9a-f]{16})"/.exec(sw)?.[1];
  const shell = JSON.parse(/const SHELL = (\[[^\]]*\])/.exec(sw)[1]);
  assert.ok(build && shell.length > 5, "sw.js is stamped with the build and its app files");
  return { sw, build, shell };
}

/**
 * Evaluates the async `predicate` in the page every half second until it holds (Playwright's
 * waitForFunction takes a returned promise as a truthy value).
 */
async function until(page, predicate, arg, timeout = 120_000) {
  const end = Date.now() + timeout;
  while (!(await page.evaluate(predicate, arg))) {
    if (Date.now() > end) throw new Error(`timed out: ${predicate}`);
    await new Promise((ok) => setTimeout(ok, 500));
  }
}

/** Waits until the service worker holds every app file (the `keep-app` it is asked for). */
async function appKept(page, build, shell) {
  await until(page, async ([build, shell]) => {
    if (!(await caches.keys()).includes(`lvm-app-${build}`)) return false;
    const cache = await caches.open(`lvm-app-${build}`);
    const base = new URL(".", location.href);
    for (const f of shell) if (!(await cache.match(new URL(f, base).href))) return false;
    return true;
  }, [build, shell]);
}

test("from a sub-path with no headers: one reload makes it isolated, a lesson draws, a run trains on every core", async () => {
  const context = await browser.newContext({ acceptDownloads: true, ...withWorker });
  // Opened as a user types it: the sub-path without its trailing slash.
  const entry = site.url.slice(0, -1) + "?lesson=baselines&dataset=wiki-29k&runs=mlp,lstm,transformer";
  const page = await context.newPage();
  const loads = countLoads(page);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(entry);
  await page.waitForSelector("#controls [data-action=train]:not([disabled])", { state: "attached" });
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  assert.equal(loads.length, 2, `the first visit and one reload: ${loads.join(", ")}`);
  assert.ok(loads.every((u) => u.startsWith(site.url + "?lesson=baselines")), loads.join(", "));
  // The lesson's stored full-data curves, drawn without training.
  assert.match(await page.textContent("#lesson"), /What the baselines mean/);
  await page.waitForFunction(() => document.querySelectorAll("#ranking-body tr").length === 3,
    null, { timeout: 60_000 });
  const mlp = page.locator("#ranking-body tr[data-run='1'] td");
  const [best, at] = [Number(await mlp.nth(3).textContent()), Number(await mlp.nth(5).textContent())];
  assert.ok(await drawnAt(page, MLP_BLUE, at, best), `the MLP's stored curve is drawn: epoch ${at} at ${best}`);

  // The next link in the same browser: no reload, and a run gets every core.
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  await page.goto(site.url + "?runs=mlp&sample=300&epochs=1&autostart=1");
  await waitForState(page, "1", "finished");
  assert.equal(loads.length, 3, "a controlled page does not reload");
  assert.match(await page.textContent("#status-1"), new RegExp(`^finished on ${cores} threads?: epoch 1/1`));
  assert.match(await page.textContent("#threads-note"), new RegExp(`the ${cores} cores are shared`));
  assert.deepEqual(errors, []);
  await context.close();
});

test("a copied link is the hosted address, and a fresh browser trains it to the same bits", async () => {
  const first = await open(browser, site.url + "?runs=mlp&sample=500&epochs=2&seed=5&1.lr=0.002", withWorker);
  await first.page.click("[data-action=train]");
  await waitForState(first.page, "1", "finished");
  const a = JSON.parse(await exportText(first.page, "1", "json"));
  await first.page.click("[data-action=copy-link]");
  const link = await first.page.inputValue("#share-link");
  assert.ok(link.startsWith(site.url + "?"), link);

  const second = await open(browser, link, withWorker);
  await second.page.click("[data-action=train]");
  await waitForState(second.page, "1", "finished");
  const b = JSON.parse(await exportText(second.page, "1", "json"));
  assert.ok(a.step_losses.length > 0);
  assert.deepEqual(b.step_losses, a.step_losses, "same loss at every step");
  assert.deepEqual(b.epochs.map((e) => e.val.mean), a.epochs.map((e) => e.val.mean));
  assert.deepEqual([...first.errors, ...second.errors], []);
  await first.context.close();
  await second.context.close();
});

test("after one visit, a reload with no network opens the page and trains an MLP epoch", async () => {
  const { build, shell } = await stamped();
  const link = site.url + "?runs=mlp&sample=300&epochs=1";
  const { page, context, errors } = await open(browser, link, withWorker);
  await page.waitForFunction(() => / Ready\.$/.test(document.getElementById("data-status").textContent),
    null, { timeout: 300_000 });
  await appKept(page, build, shell);

  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector("#controls [data-action=train]:not([disabled])", { state: "attached" });
  assert.equal(await page.evaluate(() => navigator.onLine), false);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, "the kept app is still isolated");
  await page.waitForFunction(() => / Ready\.$/.test(document.getElementById("data-status").textContent),
    null, { timeout: 120_000 });
  await page.click("[data-action=train]");
  await waitForState(page, "1", "finished");
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.match(await page.textContent("#status-1"), new RegExp(`^finished on ${cores} threads?: epoch 1/1`));
  assert.deepEqual(errors, []);
  await context.close();
});

/** `wasm` with a custom section appended: another module that runs the same. */
function withCustomSection(wasm, text) {
  const name = Buffer.from("lvm-test"), payload = Buffer.from(text);
  const body = Buffer.concat([Buffer.from([name.length]), name, payload]);
  assert.ok(body.length < 128, "a one-byte section size");
  return Buffer.concat([wasm, Buffer.from([0, body.length]), body]);
}

test("a new deploy at the same address replaces the kept app: no stale page, wasm or cache", async () => {
  const { sw, build, shell } = await stamped();
  // Its own server: this test deploys over it.
  const host = await serve({ isolated: false, prefix: PREFIX });
  try {
    const { page, context, errors } = await open(browser, host.url + "?runs=mlp", withWorker);
    await appKept(page, build, shell);

    // The new build: another page, another wasm for the page, a service worker stamped anew.
    const index = await readFile(join(DIST, "index.html"), "utf8");
    const wasmName = index.match(/playground[\w-]*_bg\.wasm/)[0];
    const wasm = withCustomSection(await readFile(join(DIST, wasmName)), "second deploy");
    const next = build.split("").reverse().join("");
    host.replace("index.html", index.replace("<title>LVM Playground</title>",
      "<title>LVM Playground</title><meta name=\"deploy\" content=\"2\">"));
    host.replace(wasmName, wasm);
    host.replace("sw.js", sw.replace(`"${build}"`, `"${next}"`));

    await page.reload();
    await page.waitForSelector("#controls [data-action=train]:not([disabled])", { state: "attached" });
    assert.equal(await page.locator("meta[name=deploy]").count(), 1, "the new page, not the kept one");
    // The new worker takes over and deletes the old build's files; the app is kept anew.
    await until(page, async ([old]) => !(await caches.keys()).includes(`lvm-app-${old}`), [build]);
    await appKept(page, next, shell);
    const kept = await page.evaluate(async ([next, wasmName]) => {
      const response = await (await caches.open(`lvm-app-${next}`)).match(new URL(wasmName, location.href).href);
      return response ? (await response.arrayBuffer()).byteLength : -1;
    }, [next, wasmName]);
    assert.equal(kept, wasm.length, "the kept wasm is the new one");

    // And offline, the new build opens.
    await context.setOffline(true);
    await page.reload();
    await page.waitForSelector("#controls [data-action=train]:not([disabled])", { state: "attached" });
    assert.equal(await page.locator("meta[name=deploy]").count(), 1, "offline: the new page");
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await host.close();
  }
});

/** The saved runs in this browser's private storage: [name, bytes] (src/saved.rs, `runs/`). */
function savedFiles(page) {
  return page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle("runs");
    const files = [];
    for await (const [name, handle] of dir.entries()) {
      // As base64: a spread array of the checkpoint's bytes took minutes to cross to node.
      const url = await new Promise((ok) => {
        const reader = new FileReader();
        handle.getFile().then((file) => { reader.onload = () => ok(reader.result); reader.readAsDataURL(file); });
      });
      files.push([name, url.slice(url.indexOf(",") + 1)]);
    }
    return files;
  });
}

test("one link in two tabs: both train, one saves, the other says so, and the saved run is whole", async () => {
  // Three epochs of about 220 steps: the second tab starts while the first trains.
  const link = site.url + "?runs=mlp&1.hidden=256&1.batch=16&sample=4000&epochs=3&seed=3";
  const a = await open(browser, link, withWorker);
  const b = await open(browser, link, { context: a.context });
  await a.page.click("[data-action=train]");
  await a.page.waitForSelector("#saved-1:has-text('Saved in this browser after epoch 1')", { timeout: 300_000 });
  await b.page.click("[data-action=train]");
  await b.page.waitForSelector("#saved-1:has-text('another tab of this browser is training this same run')",
    { timeout: 300_000 });
  await waitForState(a.page, "1", "finished");
  await waitForState(b.page, "1", "finished");
  await a.page.waitForSelector("#saved-1:has-text('Saved in this browser after epoch 3')");
  const logA = JSON.parse(await exportText(a.page, "1", "json"));
  const logB = JSON.parse(await exportText(b.page, "1", "json"));
  assert.deepEqual(logB.step_losses, logA.step_losses, "the same run in both tabs");

  const files = await savedFiles(a.page);
  assert.equal(files.length, 1, files.map(([n]) => n).join(", "));
  const bytes = Buffer.from(files[0][1], "base64");
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString("utf8"));
  const { __metadata__: meta, ...tensors } = header;
  const end = Math.max(...Object.values(tensors).map((t) => t.data_offsets[1]));
  assert.equal(bytes.length, 8 + length + end, "the file is as long as its header says");
  assert.ok(meta && JSON.stringify(meta).includes(String(logA.step_losses.at(-1))),
    "it holds the run's last step loss");
  assert.deepEqual([...a.errors, ...b.errors], []);
  await a.context.close();
});
