// The training worker built with wasm threads (scripts/build_threads.sh puts it and the module
// it loads into dist/threads/). A module worker: the page starts it as
// `threads/worker.js?threads=N` on a cross-origin-isolated page, where shared memory exists.
import init, { startThreadedWorker } from "./lvm_playground.js";

const threads = Math.max(1, Number(new URL(self.location.href).searchParams.get("threads")) || 1);
await init();
await startThreadedWorker(threads);
