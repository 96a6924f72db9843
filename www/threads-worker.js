// The training worker built with wasm threads (scripts/build_threads.sh puts it and the module
// it loads into dist/threads/). A module worker: the page starts it as
// `threads/worker.js?threads=N` on a cross-origin-isolated page, where shared memory exists.
import init, { startThreadedWorker } from "./lvm_playground.js";

// With threads, wasm-bindgen runs Rust futures from promise callbacks, so a trap in one (out
// of memory, say) is an unhandled rejection, which the page never hears of; thrown again from
// here it is the worker's uncaught error, the page's `onerror`, as in the single-threaded one.
self.addEventListener("unhandledrejection", (e) => {
  throw e.reason;
});

const threads = Math.max(1, Number(new URL(self.location.href).searchParams.get("threads")) || 1);
await init();
await startThreadedWorker(threads);
