/**
 * The package as its users get it: `npm pack` (scripts ignored: dist/ is what `npm test`'s
 * pretest built) into a temporary directory, the tarball installed into one scratch project
 * (`npm install --prefer-offline`: the npm cache holds every dependency after the repository's
 * `npm ci`), and there:
 *
 * - an ESM JavaScript file runs the README's library quick start and checks that the loss falls,
 *   then imports `sharpness-aware/node`, package.json and a JSON Schema through `exports`;
 * - TypeScript (the repository's own, node_modules/typescript) type-checks a TypeScript version
 *   of it and a user of the node entry with the tsconfig.json `tsc --init` writes, with
 *   `strict: true` and `skipLibCheck: false` (the engine's declarations checked too), and as a
 *   Node.js project without "dom" below ES2025 with the one setting the README names;
 * - `npx sharpness --help` and `--version` run the installed bin;
 * - the tarball's file list holds what users need and no tests, build output or leftovers.
 *
 * Without npm, or when the install needs the network and there is none, the tests are skipped
 * with a message; under REQUIRE_SYSTEM_DEPS=1 (CI) they fail instead.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { requireBinary } from "../system-deps.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  dependencies: Record<string, string>;
};
const npm = requireBinary("npm", "npm");

/** npm's own settings from the environment of `npm test` (prefix, workspace…) stay out; its cache stays in. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    const low = k.toLowerCase();
    if (low.startsWith("npm_") && low !== "npm_config_cache" && low !== "npm_config_userconfig") continue;
    env[k] = v;
  }
  return { ...env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };
}

function run(cmd: string, args: string[], cwd: string, opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: npmEnv(), timeout: 120_000, ...opts });
  return { code: r.status, out: String(r.stdout ?? ""), err: String(r.stderr ?? ""), error: r.error };
}

const NETWORK = /ENOTCACHED|EAI_AGAIN|ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network/i;

/** The README's "Library quick start" as a complete ESM program (examples/quickstart.ts in plain JavaScript). */
const QUICKSTART_MJS = `import { createRequire } from "node:module";
import { blockUntilReady, jit, numpy as np, random, tree } from "@jax-js/jax";
import { initEngine, sgd, applyUpdates, sam } from "sharpness-aware";

const device = await initEngine(); // WebGPU where an adapter exists, else wasm

// loss(params, batch) => scalar np.Array (mean over the batch)
const loss = (p, b) => np.mean(np.square(np.matmul(b.x, p.w).add(p.b).sub(b.y)));
let params = { w: random.normal(random.key(0), [3, 1]), b: np.zeros([1]) };
const x = random.normal(random.key(1), [64, 3]);
const batch = () => ({ x: x.ref, y: np.matmul(x.ref, np.array([[1], [-2], [0.5]])) });

// Base optimizers: optax-style gradient transformations with PyTorch semantics.
const base = sgd({ learningRate: 0.1, momentum: 0.9, nesterov: false, weightDecay: 5e-4 });
const s = base.init(tree.ref(params));
const grads = { w: np.zeros([3, 1]), b: np.zeros([1]) };
const [updates, s2] = base.update(grads, s, tree.ref(params)); // updates are deltas to ADD
params = applyUpdates(params, updates);
tree.dispose(s2);

// Sharpness-aware optimizers wrap a base optimizer and own the two-pass step.
const opt = sam(base, { rho: 0.05 });
let state = opt.init(tree.ref(params));
const step = jit((p, st, b) => opt.step(loss, p, st, b));
const losses = [];
for (let i = 0; i < 60; i++) {
  const out = step(params, state, batch()); // consumes params, state, batch
  params = out.params;
  state = out.state;
  await blockUntilReady([params, state]);
  losses.push((await out.loss.data())[0]);
  out.finite.dispose();
}
tree.dispose([params, state, x]);
step.dispose();
console.log(\`device \${device}: loss \${losses[0]} -> \${losses[losses.length - 1]}\`);
if (!(losses[losses.length - 1] < 0.05 * losses[0])) {
  console.error("the loss did not fall");
  process.exit(1);
}

// The other entries resolve: the Node-only API and package.json.
const node = await import("sharpness-aware/node");
if (typeof node.train !== "function" || node.sam !== sam) {
  console.error("sharpness-aware/node does not export train and the main entry's sam");
  process.exit(1);
}
const require = createRequire(import.meta.url);
const pkg = require("sharpness-aware/package.json");
const schema = require("sharpness-aware/schema/result.schema.json");
if (!schema.$id.endsWith("/schema/result.schema.json")) {
  console.error("sharpness-aware/schema/result.schema.json is not the result schema");
  process.exit(1);
}
console.log(\`\${pkg.name} \${pkg.version}; node entry ok\`);
`;

/** The same quick start in TypeScript, written as a user would under the strictest settings. */
const QUICKSTART_TS = `import { blockUntilReady, jit, numpy as np, random, tree } from "@jax-js/jax";
import { initEngine, sgd, applyUpdates, sam, type SamState, type SgdState } from "sharpness-aware";

await initEngine();

type Params = { w: np.Array; b: np.Array };
type Batch = { x: np.Array; y: np.Array };
const loss = (p: Params, b: Batch): np.Array => np.mean(np.square(np.matmul(b.x, p.w).add(p.b).sub(b.y)));
let params: Params = { w: random.normal(random.key(0), [3, 1]), b: np.zeros([1]) };
const x = random.normal(random.key(1), [64, 3]);
const batch = (): Batch => ({ x: x.ref, y: np.matmul(x.ref, np.array([[1], [-2], [0.5]])) });

const base = sgd({ learningRate: 0.1, momentum: 0.9, nesterov: false, weightDecay: 5e-4 });
const s: SgdState = base.init(tree.ref(params));
const grads: Params = { w: np.zeros([3, 1]), b: np.zeros([1]) };
const [updates, s2] = base.update(grads, s, tree.ref(params));
params = applyUpdates(params, updates);
tree.dispose(s2);

const opt = sam(base, { rho: 0.05 });
let state: SamState<SgdState> = opt.init(tree.ref(params));
const step = jit((p: Params, st: SamState<SgdState>, b: Batch) => opt.step(loss, p, st, b));
const out = step(params, state, batch());
params = out.params;
state = out.state;
await blockUntilReady([params, state]);
const first: number | undefined = (await out.loss.data())[0];
out.finite.dispose();
tree.dispose([params, state, x]);
step.dispose();
export { first };
`;

/** A user of the Node-only entry: the trainer, a run result, the data sets. */
const NODE_ENTRY_TS = `import { train, toRunResult, loadMnist, expandSweep, type RunResult, type TrainResult, type EpochRecord } from "sharpness-aware/node";
import { sam } from "sharpness-aware";

export async function accuracy(): Promise<number | null> {
  const data = loadMnist();
  const specs = expandSweep({ base: { data: { name: "mnist", trainSize: 500 }, model: { name: "mlp", hidden: 16 }, optimizer: { name: "sam", base: { name: "sgd", lr: 0.1 } }, epochs: 1 }, grid: { seed: [0, 1] } });
  const r: TrainResult = await train(specs[0], data, { checkpointEvery: 100 });
  const last: EpochRecord | undefined = r.history.at(-1);
  const result: RunResult = toRunResult(r, "wasm");
  return last ? last.testAccuracy : result.metrics.testAccuracy;
}
export const samFromNode: typeof sam = sam;
`;

type PackEntry = { filename: string; size: number; unpackedSize: number; entryCount: number; files: { path: string; size: number }[] };

let work = "";
let project = "";
let packed: PackEntry | null = null;
/** Why the tests cannot run here (no npm, no network for a dependency the cache lacks), or false. */
let skip: string | false = npm.skip;
let setupSeconds = 0;
/** What npm warned about while installing (a dependency's engines, deprecations): reported, not failed on. */
let installWarnings: string[] = [];

before(async () => {
  if (skip) return;
  const t0 = performance.now();
  work = mkdtempSync(join(tmpdir(), "consumers-"));
  const p = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], ROOT);
  assert.equal(p.code, 0, `npm pack failed: ${p.err || p.error}`);
  packed = (JSON.parse(p.out) as PackEntry[])[0];

  project = join(work, "consumer");
  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { [PKG.name]: `file:../${packed.filename}`, "@jax-js/jax": PKG.dependencies["@jax-js/jax"] } }, null, 2),
  );
  const i = run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], project);
  if (i.code !== 0) {
    const why = `npm install of the tarball failed${NETWORK.test(i.err) ? " (it needs the network: the npm cache lacks a dependency; run npm ci once online)" : ""}: ${i.err.trim().split("\n").slice(-3).join(" | ")}`;
    if (NETWORK.test(i.err) && process.env.REQUIRE_SYSTEM_DEPS !== "1") {
      skip = why;
      return;
    }
    throw new Error(why);
  }
  writeFileSync(join(project, "quickstart.mjs"), QUICKSTART_MJS);
  writeFileSync(join(project, "quickstart.ts"), QUICKSTART_TS);
  writeFileSync(join(project, "node-entry.ts"), NODE_ENTRY_TS);
  installWarnings = i.err.split("\n").filter((l) => /^npm warn/i.test(l) && !/Unknown user config/.test(l));
  setupSeconds = (performance.now() - t0) / 1000;
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the tarball holds what users need and nothing else", (t) => {
  if (skip) return t.skip(skip);
  const p = packed!;
  const files = p.files.map((f) => f.path).sort();
  t.diagnostic(`${p.filename}: ${p.size} bytes packed, ${p.unpackedSize} unpacked, ${p.entryCount} files (pack + install ${setupSeconds.toFixed(1)} s)`);
  for (const w of installWarnings) t.diagnostic(w);
  const has = new Set(files);
  for (const f of ["package.json", "README.md", "CHANGELOG.md", "dist/index.js", "dist/index.d.ts", "dist/node.js", "dist/node.d.ts", "types/engine-globals.d.ts", "schema/result.schema.json", "schema/summary.schema.json"]) {
    assert.ok(has.has(f), `${f} is not in the tarball`);
  }
  // The bin and every export (with its types) are there.
  for (const bin of Object.values(PKG.bin)) assert.ok(has.has(bin.replace(/^\.\//, "")), `bin ${bin} is not in the tarball`);
  for (const [entry, target] of Object.entries(PKG.exports)) {
    const conditions = typeof target === "string" ? { default: target } : target;
    for (const [cond, path] of Object.entries(conditions)) {
      // A subpath pattern ("./schema/*.json") must match at least one file.
      const escaped = path.replace(/^\.\//, "").replace(/[.+?^$()|[\]\\{}]/g, "\\$&");
      const re = new RegExp("^" + escaped.replace("*", "[^/]+") + "$");
      assert.ok(files.some((f) => re.test(f)), `exports["${entry}"].${cond} = ${path} is not in the tarball`);
    }
    // Every JavaScript entry has its declarations (JSON entries need none).
    if (!entry.endsWith(".json")) assert.ok(typeof target !== "string" && target.types && has.has(target.types.replace(/^\.\//, "")), `exports["${entry}"] has no types`);
  }
  // No tests, build output, benchmarks, scratch files, runs, logs or editor/OS leftovers.
  const leftovers = files.filter((f) => /^(test|build|bench|scratch|runs|examples|playground|docs|tools|scripts|node_modules|coverage)\//.test(f) || /\.test\.[cm]?[jt]s$|\.tsbuildinfo$|\.log$|\.tgz$|(^|\/)\.|~$/.test(f));
  assert.deepEqual(leftovers, [], "files users do not need");
  assert.deepEqual(files.filter((f) => !/^(dist|src|schema|types)\//.test(f) && !["package.json", "README.md", "CHANGELOG.md", "LICENSE"].includes(f)), [], "unexpected top-level files");
  // The entry declarations keep their reference to the engine's global types, and it resolves in the tarball.
  for (const entry of ["index", "node"]) {
    const dts = readFileSync(join(project, "node_modules", PKG.name, "dist", `${entry}.d.ts`), "utf8");
    assert.match(dts, /^\/\/\/ <reference path="\.\.\/types\/engine-globals\.d\.ts"/m, `dist/${entry}.d.ts`);
  }
  // Every compiled module comes from a source file that still exists (no stale dist/ output).
  const sources = new Set(files.filter((f) => f.startsWith("src/") && f.endsWith(".ts")).map((f) => f.slice(4, -3)));
  const stale = files.filter((f) => f.startsWith("dist/") && f.endsWith(".js") && !sources.has(f.slice(5, -3)));
  assert.deepEqual(stale, [], "dist/ files without a source (rebuild dist/ from scratch: rm -rf dist && npm run build)");
  assert.ok(p.size < 2_000_000, `the tarball is ${p.size} bytes`);
});

test("an ESM JavaScript project runs the README's quick start from the installed tarball (loss falls)", (t) => {
  if (skip) return t.skip(skip);
  const r = run(process.execPath, ["quickstart.mjs"], project);
  assert.equal(r.code, 0, `${r.out}\n${r.err}`);
  const m = /loss ([\d.e+-]+) -> ([\d.e+-]+)/.exec(r.out);
  assert.ok(m, r.out);
  assert.ok(Number(m[2]) < 0.05 * Number(m[1]), r.out);
  assert.match(r.out, new RegExp(`sharpness-aware ${PKG.version.replace(/\./g, "\\.")}; node entry ok`));
  t.diagnostic(r.out.trim().replace(/\n/g, "; "));
});

// `tsc --init` (TypeScript 7) writes target esnext with no `lib` (so "dom" and ES2025 are in),
// `types: []`, strict, and skipLibCheck: true. The engine's declarations name GPUDevice and
// GPUBuffer ("dom") and Float16Array (ES2025). A Node.js project has no "dom": the package
// declares the two GPU types itself (types/engine-globals.d.ts, referenced from dist/index.d.ts);
// below ES2025 the one setting the README names is "ESNext.Float16" in `lib`.
const NODE_LIB = { strict: true, skipLibCheck: false, types: [] };
for (const [name, sub, options] of [
  ["the tsconfig.json of `tsc --init`", "defaults", null],
  ["strict: true, skipLibCheck: false", "strict", { strict: true, skipLibCheck: false }],
  ['a Node.js project: lib ["ES2023", "ESNext.Float16"] (no "dom"), skipLibCheck: false', "node-lib", { ...NODE_LIB, lib: ["ES2023", "ESNext.Float16"] }],
] as const) {
  test(`a TypeScript project type-checks the quick start and the node entry: ${name}`, (t) => {
    if (skip) return t.skip(skip);
    const r = typecheck(sub, options);
    assert.equal(r.code, 0, `tsc found errors:\n${r.out}${r.err}`);
  });
}

test('without "ESNext.Float16" in a lib below ES2025, the only errors are the engine\'s Float16Array (what the README says)', (t) => {
  if (skip) return t.skip(skip);
  const r = typecheck("node-lib-es2023", { ...NODE_LIB, lib: ["ES2023"] });
  const errors = r.out.split("\n").filter((l) => /error TS\d+/.test(l));
  assert.ok(errors.length > 0, "expected tsc to fail");
  for (const e of errors) assert.match(e, /@jax-js\/jax\/dist\/index\.d\.ts\(\d+,\d+\): error TS2304: Cannot find name 'Float16Array'\./);
});

/** `tsc --init` in project/SUB, optionally extended with `options`, then tsc --noEmit on the quick start and the node entry. */
function typecheck(sub: string, options: Record<string, unknown> | null) {
  const dir = join(project, sub);
  mkdirSync(dir, { recursive: true });
  const init = run(process.execPath, [TSC, "--init"], dir);
  assert.equal(init.code, 0, init.out + init.err);
  if (options) {
    // The generated file is JSONC (comments): extend it rather than edit it.
    writeFileSync(join(dir, "tsconfig.base.json"), readFileSync(join(dir, "tsconfig.json")));
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ extends: "./tsconfig.base.json", compilerOptions: options }, null, 2));
  }
  for (const f of ["quickstart.ts", "node-entry.ts"]) writeFileSync(join(dir, f), readFileSync(join(project, f)));
  return run(process.execPath, [TSC, "-p", join(dir, "tsconfig.json"), "--noEmit", "--pretty", "false"], dir);
}

test("the installed bin runs: npx sharpness --help and --version", (t) => {
  if (skip) return t.skip(skip);
  const help = run("npx", ["--no", "--", "sharpness", "--help"], project);
  assert.equal(help.code, 0, help.err);
  assert.match(help.out, /^sharpness — /);
  assert.match(help.out, /sharpness train \[flags\]/);
  const version = run("npx", ["--no", "--", "sharpness", "--version"], project);
  assert.equal(version.code, 0, version.err);
  assert.equal(version.out, `${PKG.version}\n`);
});
