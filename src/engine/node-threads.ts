/**
 * Optional worker threads for jax-js's wasm backend in Node (DESIGN §5).
 *
 * jax-js starts a worker pool only if `Worker` and `SharedArrayBuffer` exist **when it is first
 * imported**, so this module must be evaluated before `@jax-js/jax` (the CLI imports it first
 * when asked for threads). Node has no global `Worker`: we provide the `web-worker` package's.
 * jax-js hands its worker script over as a `blob:` URL, which web-worker cannot load and which
 * cannot be read synchronously, so we remember the source of JavaScript Blobs as they are made
 * and give the worker an equivalent `data:` URL.
 *
 * With threads on, only asynchronous reads (`await x.data()`, `blockUntilReady`) are allowed
 * (`dataSync` throws while work is pending), and the workers keep Node alive: call
 * `process.exit` when done. Node-only.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";

const require = createRequire(import.meta.url);

export function installWasmThreads(workers = availableParallelism()): boolean {
  const g = globalThis as Record<string, any>;
  if (typeof g.SharedArrayBuffer === "undefined") return false;
  if (g.__sharpnessThreads) return true;
  const WebWorker = require("web-worker") as new (url: string, opts?: object) => unknown;
  const sources = new WeakMap<Blob, string>();
  const urls = new Map<string, string>();
  const NativeBlob = g.Blob as typeof Blob;
  g.Blob = class extends NativeBlob {
    constructor(parts?: BlobPart[], opts?: BlobPropertyBag) {
      super(parts, opts);
      if (opts?.type?.includes("javascript") && parts?.every((p) => typeof p === "string")) sources.set(this, (parts as string[]).join(""));
    }
  };
  const create = URL.createObjectURL.bind(URL);
  URL.createObjectURL = (obj: Blob) => {
    const url = create(obj);
    const src = sources.get(obj);
    if (src !== undefined) urls.set(url, `data:text/javascript;base64,${Buffer.from(src).toString("base64")}`);
    return url;
  };
  g.Worker = class extends (WebWorker as any) {
    constructor(url: string | URL, opts?: object) {
      const s = String(url);
      super(urls.get(s) ?? s, opts);
    }
  };
  if (typeof g.navigator === "undefined") Object.defineProperty(g, "navigator", { value: { hardwareConcurrency: workers }, configurable: true });
  else if (!g.navigator.hardwareConcurrency) g.navigator.hardwareConcurrency = workers;
  g.__sharpnessThreads = true;
  return true;
}
