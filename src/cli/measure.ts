/**
 * `sharpness measure` and `sharpness interpolate`: the instruments of src/sharpness on runs of
 * `sharpness train` (their checkpoints). Measurements use the model in evaluation mode and a
 * fixed, seeded set of training points with the labels the run trained on.
 *
 * `--out` is a directory here as in every command: measure writes DIR/measures.json (and
 * DIR/landscape.svg), interpolate DIR/interpolation.json and DIR/interpolation.svg. It is
 * checked (and created) before anything is loaded; bad input is one line, exit code 2.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import "../engine/polyfills.js";
import { numpy as np, tree, grad } from "@jax-js/jax";
import { initEngine } from "../engine/device.js";
import { assertSameTree, hostScalar, type Params } from "../engine/tree.js";
import { averageSharpness, decompose, emaTracking, hessianTrace, interpolate, landscape2d, mSharpness, topEigenvalue } from "../sharpness/index.js";
import { loadRun, resolveCheckpoint, splitBatch, testSet, trainingPoints, type Batch, type LoadedRun } from "../sharpness/from-checkpoint.js";
import { vegaLiteToSvg } from "../report/html.js";
import { UsageError, helpText, parseArgs, parseFlags, type FlagSpec } from "./args.js";
import { specLabel } from "../train/spec.js";
import { progressBar } from "./progress.js";
import { prepareOutDir, showPath } from "./out-dir.js";

const MEASURES = ["m-sharpness", "adaptive", "average", "hessian", "anatomy", "landscape"] as const;

export const MEASURE_FLAGS: Record<string, FlagSpec> = {
  checkpoint: { kind: "string", help: "a run's output directory (or one of its checkpoints)" },
  measures: { kind: "list", help: `which: ${MEASURES.join(", ")} (default: all but landscape)` },
  points: { kind: "int", help: "fixed training points measured on (default 1024)" },
  m: { kind: "int", help: "m of m-sharpness: points per ascent batch (default 128)" },
  rho: { kind: "number", help: "radius of the ℓ2/ℓ∞ ball (default 0.05)" },
  "adaptive-rho": { kind: "number", help: "radius of the adaptive ball (default 0.5)" },
  eta: { kind: "number", help: "η of the adaptive ball (default 0: scale-invariant)" },
  ball: { kind: "string", choices: ["l2", "linf"], help: "ball of m-sharpness (default l2)" },
  steps: { kind: "int", help: "projected ascent steps, step 0.1ρ (default 100)" },
  "noise-std": { kind: "number", help: "σ of average-case sharpness: δ ~ N(0, σ²I) (default 0.01)" },
  samples: { kind: "int", help: "draws for average-case sharpness (default 50)" },
  iterations: { kind: "int", help: "power iterations for λ_max (default 50)" },
  "trace-samples": { kind: "int", help: "Hutchinson samples for tr(H) (default 20)" },
  "batch-size": { kind: "int", help: "minibatch size of the gradient anatomy (default 128)" },
  lambdas: { kind: "list", help: "EMA factors λ for the anatomy (default 0.5,0.9)" },
  grid: { kind: "int", help: "landscape grid size (default 11)" },
  span: { kind: "number", help: "landscape half-width in filter-normalized units (default 1)" },
  seed: { kind: "int", help: "seed of the points and random directions (default 0)" },
  out: { kind: "string", help: "output directory: measures.json, landscape.svg (default: the --checkpoint directory)" },
  help: { kind: "bool", help: "show this help" },
};

export const INTERPOLATE_FLAGS: Record<string, FlagSpec> = {
  alphas: { kind: "int", help: "α values from 0 to 1 (default 21)" },
  "train-points": { kind: "int", help: "training points evaluated (default 2048)" },
  out: { kind: "string", help: "output directory: interpolation.json, interpolation.svg (default: the current directory)" },
  help: { kind: "bool", help: "show this help" },
};

const num = (v: unknown, d: number) => (v === undefined ? d : (v as number));

/** Flags that had another meaning before (one meaning per flag across commands): a one-line hint. */
function refuseRenamed(argv: string[], command: string, renamed: Record<string, string>): void {
  for (const a of argv) {
    const name = a.startsWith("--") ? a.slice(2).split("=")[0] : "";
    if (Object.hasOwn(renamed, name)) throw new UsageError(`${command}: --${name} is now ${renamed[name]}`);
  }
}

/**
 * The output directory of `--out` (or `fallback`), created and proven writable. A value ending
 * in .json or .svg is the old meaning (measure's JSON file, interpolate's prefix): refused.
 */
function outDir(given: unknown, fallback: string, command: string, writes: string): string {
  if (given === undefined) return prepareOutDir(fallback, "--out");
  const g = String(given);
  if (/\.(json|svg)$/i.test(g)) throw new UsageError(`${command}: --out takes a directory (it gets ${writes}), not a file name: got ${showPath(g)}`);
  return prepareOutDir(g, "--out");
}

const fmt = (x: number) => (Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toFixed(4));

export async function measureCommand(argv: string[]): Promise<number> {
  refuseRenamed(argv, "measure", { sigma: "--noise-std (σ of average-case sharpness; --sigma is F-SAM's σ in train)" });
  const f = parseFlags(argv, MEASURE_FLAGS, "measure");
  if (f.help) {
    process.stdout.write(helpText("Usage: sharpness measure --checkpoint DIR [flags]", "Sharpness measures of a trained model: m-sharpness (multi-step vs one-step), adaptive sharpness,\naverage-case sharpness, Hessian λ_max and trace, gradient anatomy, 2-D landscape.", MEASURE_FLAGS));
    return 0;
  }
  if (!f.checkpoint) throw new UsageError("measure: --checkpoint DIR is required (a run's output directory)");
  const which = ((f.measures as string[]) ?? MEASURES.filter((m) => m !== "landscape")) as string[];
  for (const w of which) if (!(MEASURES as readonly string[]).includes(w)) throw new UsageError(`--measures: unknown measure ${JSON.stringify(w)} (known: ${MEASURES.join(", ")})`);
  const opts = {
    points: num(f.points, 1024), m: num(f.m, 128), rho: num(f.rho, 0.05), adaptiveRho: num(f["adaptive-rho"], 0.5), eta: num(f.eta, 0),
    ball: (f.ball as "l2" | "linf") ?? "l2", steps: num(f.steps, 100), sigma: num(f["noise-std"], 0.01), samples: num(f.samples, 50),
    iterations: num(f.iterations, 50), traceSamples: num(f["trace-samples"], 20), batchSize: num(f["batch-size"], 128),
    lambdas: ((f.lambdas as string[]) ?? ["0.5", "0.9"]).map(Number), grid: num(f.grid, 11), span: num(f.span, 1), seed: num(f.seed, 0),
  };
  for (const [k, v, lo] of [["points", opts.points, 1], ["m", opts.m, 1], ["steps", opts.steps, 1], ["samples", opts.samples, 2], ["iterations", opts.iterations, 1], ["trace-samples", opts.traceSamples, 2], ["batch-size", opts.batchSize, 1], ["grid", opts.grid, 2]] as const) {
    if (!Number.isInteger(v) || v < lo) throw new UsageError(`--${k} must be an integer ≥ ${lo} (got ${v})`);
  }
  for (const [k, v] of [["rho", opts.rho], ["adaptive-rho", opts.adaptiveRho], ["noise-std", opts.sigma], ["span", opts.span]] as const) if (!(v > 0)) throw new UsageError(`--${k} must be a number > 0 (got ${v})`);
  if (opts.lambdas.some((l) => !(l >= 0 && l < 1))) throw new UsageError(`--lambdas must be numbers in [0, 1) (got ${opts.lambdas.join(",")})`);
  if (opts.m > opts.points) throw new UsageError(`--m ${opts.m} is larger than --points ${opts.points}`);
  const checkpoint = resolve(String(f.checkpoint));
  resolveCheckpoint(checkpoint); // a missing checkpoint is reported before anything is created
  const dir = outDir(f.out, checkpoint, "measure", "measures.json and landscape.svg");
  const out = join(dir, "measures.json");

  await initEngine();
  process.stderr.write("loading the run and its data…\n");
  const run = loadRun(checkpoint);
  const pts = trainingPoints(run, opts.points, opts.seed);
  const batches = splitBatch(pts, opts.m);
  const results: Record<string, unknown> = {};
  const seconds: Record<string, number> = {};
  const rows: [string, string][] = [];
  const timed = async (name: string, work: () => Promise<void>) => {
    const t0 = performance.now();
    process.stderr.write(`measuring ${name}…\n`);
    await work();
    seconds[name] = (performance.now() - t0) / 1000;
  };
  const bar = progressBar("ascent");
  try {
    if (which.includes("m-sharpness")) {
      await timed("m-sharpness", async () => {
        const r = await mSharpness(run.loss, run.params, batches, { rho: opts.rho, steps: opts.steps, ball: opts.ball, seed: opts.seed, onProgress: (d, n) => bar.update(d / n, `${d}/${n} batches`) });
        bar.done();
        results["m-sharpness"] = { ...r, m: opts.m, rho: opts.rho, steps: opts.steps, ball: opts.ball };
        rows.push([`${opts.m}-sharpness (${opts.ball}, ρ ${opts.rho}, ${opts.steps} steps)`, fmt(r.sharpness)], ["  one-step value", fmt(r.oneStep)], ["  suboptimality factor", fmt(r.suboptimality)]);
      });
    }
    if (which.includes("adaptive")) {
      await timed("adaptive", async () => {
        const r = await mSharpness(run.loss, run.params, batches, { rho: opts.adaptiveRho, steps: opts.steps, ball: "adaptive", eta: opts.eta, seed: opts.seed, onProgress: (d, n) => bar.update(d / n, `${d}/${n} batches`) });
        bar.done();
        results.adaptive = { ...r, m: opts.m, rho: opts.adaptiveRho, eta: opts.eta };
        rows.push([`adaptive ${opts.m}-sharpness (ρ ${opts.adaptiveRho}, η ${opts.eta})`, fmt(r.sharpness)], ["  one-step value", fmt(r.oneStep)]);
      });
    }
    if (which.includes("average")) {
      await timed("average", async () => {
        const r = await averageSharpness(run.loss, run.params, pts, { sigma: opts.sigma, samples: opts.samples, seed: opts.seed });
        results.average = { ...r, sigma: opts.sigma };
        rows.push([`average-case sharpness (σ ${opts.sigma})`, `${fmt(r.sharpness)} ± ${fmt(r.ci95)}`]);
      });
    }
    if (which.includes("hessian")) {
      await timed("hessian", async () => {
        const e = await topEigenvalue(run.loss, run.params, pts, { iterations: opts.iterations, seed: opts.seed });
        const t = await hessianTrace(run.loss, run.params, pts, { samples: opts.traceSamples, seed: opts.seed });
        results.hessian = { ...e, ...t };
        rows.push([`Hessian λ_max (${e.iterations} iterations)`, fmt(e.lambdaMax)], [`Hessian trace (${t.samples} samples)`, `${fmt(t.trace)} ± ${fmt(t.ci95)}`]);
      });
    }
    if (which.includes("anatomy")) {
      await timed("anatomy", async () => {
        const g = (b: Batch) => grad(run.loss)(tree.ref(run.params), { x: b.x.ref, y: b.y.ref }) as Params;
        const full = g(pts);
        const mb = splitBatch(pts, opts.batchSize);
        const grads = mb.map(g);
        const ema = await emaTracking(grads, full, opts.lambdas);
        const parts = await decompose(grads, full);
        tree.dispose([full, mb]);
        const avg = (k: keyof (typeof parts)[0]) => parts.reduce((a, p) => a + p[k], 0) / parts.length;
        results.anatomy = { batchSize: opts.batchSize, batches: parts, emaRelativeError: Object.fromEntries(Object.entries(ema).map(([l, e]) => [l, e[e.length - 1]])) };
        rows.push([`cos(minibatch, full gradient), batch ${opts.batchSize}`, fmt(avg("cosine"))], ["  ‖full-gradient component‖", fmt(avg("fullComponentNorm"))], ["  ‖noise component‖", fmt(avg("noiseComponentNorm"))]);
        for (const [l, e] of Object.entries(ema)) rows.push([`  EMA (λ ${l}) relative error after ${e.length} batches`, fmt(e[e.length - 1])]);
      });
    }
    if (which.includes("landscape")) {
      await timed("landscape", async () => {
        let done = 0;
        const metrics = async (p: Params) => {
          bar.update(++done / (opts.grid * opts.grid), "grid points");
          return { loss: (await (run.loss(tree.ref(p), { x: pts.x.ref, y: pts.y.ref }) as np.Array).data())[0] };
        };
        const l = await landscape2d(metrics, run.params, { size: opts.grid, span: opts.span, seed: opts.seed });
        bar.done();
        results.landscape = l;
        const cells = l.values.loss.flatMap((row, j) => row.map((v, i) => ({ x: l.xs[i], y: l.ys[j], loss: v })));
        const svg = await vegaLiteToSvg({
          $schema: "https://vega.github.io/schema/vega-lite/v6.json",
          title: `training loss around the solution (filter-normalized directions, ${opts.points} points)`,
          width: 360, height: 360, data: { values: cells }, mark: "rect",
          encoding: { x: { field: "x", type: "ordinal", title: "direction 1", axis: { format: ".2f" } }, y: { field: "y", type: "ordinal", sort: "descending", title: "direction 2", axis: { format: ".2f" } }, color: { field: "loss", type: "quantitative", scale: { scheme: "viridis", type: "log" } } },
        });
        const svgPath = join(dir, "landscape.svg");
        writeFileSync(svgPath, svg);
        rows.push(["2-D landscape (SVG)", svgPath]);
      });
    }
  } finally {
    tree.dispose([run.params, run.modelState, pts, batches]);
  }
  writeFileSync(out, JSON.stringify({ checkpoint: run.dir, spec: run.spec, options: opts, results, seconds }, null, 2));
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  process.stdout.write(`${specLabel(run.spec)} on ${run.spec.data.name} (${run.dir})\n`);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}${v}\n`);
  process.stdout.write(`time: ${Object.entries(seconds).map(([k, s]) => `${k} ${s.toFixed(1)} s`).join(", ")}\nwrote ${out}\n`);
  return 0;
}

export async function interpolateCommand(argv: string[]): Promise<number> {
  refuseRenamed(argv, "interpolate", { points: "--alphas (the number of α values); training points are --train-points" });
  const { flags: f, positional } = parseArgs(argv, INTERPOLATE_FLAGS, "interpolate");
  if (f.help) {
    process.stdout.write(helpText("Usage: sharpness interpolate A B [flags]", "Loss and accuracy along (1 − α)·A + α·B between two runs of the same model (002 Fig 10).", INTERPOLATE_FLAGS));
    return 0;
  }
  if (positional.length !== 2) throw new UsageError(`interpolate: needs two run directories A and B (got ${positional.length})`);
  const points = num(f.alphas, 21);
  const trainPoints = num(f["train-points"], 2048);
  if (!Number.isInteger(points) || points < 2) throw new UsageError(`--alphas must be an integer ≥ 2 (got ${points})`);
  if (!Number.isInteger(trainPoints) || trainPoints < 1) throw new UsageError(`--train-points must be an integer ≥ 1 (got ${trainPoints})`);
  const [dirA, dirB] = positional.map((p) => resolve(p));
  for (const d of [dirA, dirB]) resolveCheckpoint(d);
  const dir = outDir(f.out, ".", "interpolate", "interpolation.json and interpolation.svg");
  await initEngine();
  process.stderr.write("loading both runs…\n");
  const a = loadRun(dirA);
  const b = loadRun(dirB, undefined);
  let runs: LoadedRun[] = [a, b];
  try {
    if (a.spec.data.name !== b.spec.data.name) throw new UsageError(`interpolate: the runs use different data sets (${a.spec.data.name}, ${b.spec.data.name})`);
    assertSameTree("interpolate", "the two runs' parameters differ", a.params, b.params);
  } catch (e) {
    tree.dispose([a.params, a.modelState, b.params, b.modelState]);
    throw e instanceof UsageError ? e : new UsageError((e as Error).message);
  }
  const train = trainingPoints(a, trainPoints, 0);
  const test = testSet(a);
  const bar = progressBar("interpolate");
  let done = 0;
  const metrics = async (p: Params) => {
    bar.update(++done / points, `${done}/${points}`);
    const v = hostScalar;
    return {
      trainLoss: await v(a.loss(tree.ref(p), { x: train.x.ref, y: train.y.ref })),
      trainAccuracy: (await v(a.correct(tree.ref(p), { x: train.x.ref, y: train.y.ref }))) / train.y.shape[0],
      testLoss: await v(a.loss(tree.ref(p), { x: test.x.ref, y: test.y.ref })),
      testAccuracy: (await v(a.correct(tree.ref(p), { x: test.x.ref, y: test.y.ref }))) / test.y.shape[0],
    };
  };
  let rows;
  try {
    rows = await interpolate(metrics, a.params, b.params, { points });
  } finally {
    bar.done();
    tree.dispose([a.params, a.modelState, b.params, b.modelState, train, test]);
    runs = [];
  }
  const prefix = join(dir, "interpolation");
  writeFileSync(`${prefix}.json`, JSON.stringify({ a: a.dir, b: b.dir, specA: a.spec, specB: b.spec, rows }, null, 2));
  const long = rows.flatMap((r) => [
    { alpha: r.alpha, value: r.trainLoss, metric: "train loss (given labels)", kind: "loss" },
    { alpha: r.alpha, value: r.testLoss, metric: "test loss", kind: "loss" },
    { alpha: r.alpha, value: r.trainAccuracy, metric: "train accuracy (given labels)", kind: "accuracy" },
    { alpha: r.alpha, value: r.testAccuracy, metric: "test accuracy", kind: "accuracy" },
  ]);
  const svg = await vegaLiteToSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `(1 − α)·A + α·B: A = ${specLabel(a.spec)}, B = ${specLabel(b.spec)}`,
    data: { values: long },
    facet: { column: { field: "kind", type: "nominal", title: null } },
    spec: { width: 300, height: 220, mark: { type: "line", point: true }, encoding: { x: { field: "alpha", type: "quantitative", title: "α" }, y: { field: "value", type: "quantitative", title: null }, color: { field: "metric", type: "nominal" } } },
    resolve: { scale: { y: "independent" } },
  });
  writeFileSync(`${prefix}.svg`, svg);
  process.stdout.write("    α  train-loss  train-acc  test-loss  test-acc\n");
  for (const r of rows) process.stdout.write(`${r.alpha.toFixed(2).padStart(5)}  ${r.trainLoss.toFixed(4).padStart(10)}  ${(100 * r.trainAccuracy).toFixed(2).padStart(8)}%  ${r.testLoss.toFixed(4).padStart(9)}  ${(100 * r.testAccuracy).toFixed(2).padStart(7)}%\n`);
  process.stdout.write(`wrote ${prefix}.json and ${prefix}.svg\n`);
  return 0;
}
