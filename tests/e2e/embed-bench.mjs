// Embedding speed, browser ÷ native, measured in one run: the first N sentences of wiki-29k
// (default 150) embedded by the page's encoder worker and by `lvm --threads 1 embed` (one
// thread each, batches of 16), ROUNDS times in turn. Needs dist/ (trunk build --release),
// target/release/lvm (cargo build --release) and the encoders (scripts/fetch_model.py).
//   node tests/e2e/embed-bench.mjs [all-MiniLM-L6-v2|all-mpnet-base-v2]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve, launch, open, embedInWorker } from "./harness.mjs";

const encoder = process.argv[2] ?? "all-MiniLM-L6-v2";
const count = Number(process.env.EMBED_SENTENCES ?? 150);
const rounds = Number(process.env.ROUNDS ?? 2);
const sentences = readFileSync("datasets/wiki-29k/texts.jsonl", "utf8").split("\n")
  .slice(0, count).map((l) => JSON.parse(l));
const dir = mkdtempSync(join(tmpdir(), "lvm-embed-bench-"));
writeFileSync(join(dir, "in.txt"), sentences.join("\n") + "\n");

function native() {
  const out = execFileSync("target/release/lvm", ["--threads", "1", "embed", "--encoder", encoder,
    "--batch", "16", "--input", join(dir, "in.txt"), "--out", join(dir, "out.npy")],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return Number(/embedded \d+ sentences in [\d.]+ s: ([\d.]+) sentences\/s/.exec(out)[1]);
}

const server = await serve();
const browser = await launch();
const { page } = await open(browser, server.url + "?models=mlp");
await embedInWorker(page, encoder, sentences.slice(0, 4)); // the download, into the cache
for (let r = 1; r <= rounds; r++) {
  const got = await embedInWorker(page, encoder, sentences);
  const worker = got.count / got.seconds;
  const nat = native();
  console.log(`${encoder}, ${count} sentences, round ${r}: worker ${worker.toFixed(1)} sentences/s, ` +
    `native ${nat.toFixed(1)}, worker / native ${(worker / nat).toFixed(2)}`);
}
await browser.close();
await server.close();
