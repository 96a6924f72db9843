// Runs before the page's wasm (a classic script in index.html's head). It makes the site work
// from any path prefix on any static host:
// - an address without its trailing slash ("/lvm-playground") becomes "/lvm-playground/", so
//   every relative URL of the page (scripts, workers, datasets) resolves inside the site;
// - it registers the site's service worker (sw.js), which adds the cross-origin isolation
//   headers a host may not send and keeps the app for offline visits, and reloads the page once
//   when that is what makes it isolated (the first visit is not controlled by it yet).
// `window.lvmBoot` is a promise the page's wasm awaits before it builds the page: it resolves to
// null when the page is isolated (or nothing more can be done without a reload that is coming),
// or to the reason it is not, for the page's threads note. It never resolves when this script
// reloads the page, so nothing starts that the reload would kill.
(() => {
  const RELOADED = "lvm-isolation-reload";
  const { pathname, search, hash } = location;
  const last = pathname.slice(pathname.lastIndexOf("/") + 1);
  if (last !== "" && !last.includes(".")) {
    window.lvmBoot = new Promise(() => {});
    location.replace(`${pathname}/${search}${hash}`);
    return;
  }
  const session = {
    get: () => { try { return sessionStorage.getItem(RELOADED); } catch { return null; } },
    set: () => { try { sessionStorage.setItem(RELOADED, "1"); return true; } catch { return false; } },
    clear: () => { try { sessionStorage.removeItem(RELOADED); } catch { /* no storage */ } },
  };
  if (window.crossOriginIsolated) session.clear();

  window.lvmBoot = (async () => {
    if (!("serviceWorker" in navigator)) {
      return window.crossOriginIsolated ? null
        : "this browser gives the page no service worker to add them (a private window, or " +
          "an http:// address other than localhost)";
    }
    try {
      await navigator.serviceWorker.register("sw.js");
    } catch (e) {
      return window.crossOriginIsolated ? null
        : `the service worker that would add them could not start (${e && e.message || e})`;
    }
    // Once the page is live, keep the rest of the app for offline visits.
    addEventListener("load", () => {
      navigator.serviceWorker.ready.then((r) => r.active && r.active.postMessage("keep-app"));
    });
    if (window.crossOriginIsolated) return null;
    if (navigator.serviceWorker.controller) {
      return "the service worker added the headers, but this browser did not isolate the page";
    }
    if (session.get()) {
      return "this load bypassed the site's service worker (a hard reload does that); reload " +
        "normally to train on several threads";
    }
    // Not controlled yet: wait (at most 10 s) for the worker to be active, then reload once.
    const ready = await Promise.race([
      navigator.serviceWorker.ready,
      new Promise((ok) => setTimeout(ok, 10000)),
    ]);
    if (!ready || !ready.active) {
      return "the site's service worker, which adds them, did not start within 10 s";
    }
    if (!session.set()) {
      return "the page may not use session storage, which it needs to reload only once";
    }
    location.reload();
    return new Promise(() => {});
  })();
})();
