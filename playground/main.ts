/**
 * The playground page: two runs (optimizer A vs B) from the same seed on a toy problem or an
 * MNIST / Fashion-MNIST subset, trained live in the browser with the library's own optimizers;
 * loss curves, decision boundaries (2-D toys), λ_max readouts, steps per second, the device.
 * Every setting lives in the URL (`?problem=spiral&a=sgd&b=sam&rho=0.05…`); `autorun=N` trains
 * N steps and publishes the outcome on `window.__playground` (the browser test reads it).
 */
import { initEngine } from "../src/engine/device.js";
import { ALGORITHMS } from "../src/train/registry.js";
import { PROBLEMS, toyProblem, type Points } from "./problems.js";
import { createRun, type PlaygroundRun, type Snapshot } from "./race.js";

const IMAGE_SETS = ["mnist", "fashion-mnist"] as const;
type Settings = { problem: string; noise: number; labelNoise: number; seed: number; width: number; depth: number; a: string; b: string; rho: number; lr: number; batch: number; device: string; autorun: number; every: number };
const DEFAULTS: Settings = { problem: "spiral", noise: 0.1, labelNoise: 0, seed: 0, width: 16, depth: 2, a: "sgd", b: "sam", rho: 0.05, lr: 0.1, batch: 32, device: "wasm", autorun: 0, every: 25 };

function readSettings(): Settings {
  const q = new URLSearchParams(location.search);
  const s: Record<string, unknown> = { ...DEFAULTS };
  for (const [k, d] of Object.entries(DEFAULTS)) {
    const v = q.get(k);
    if (v === null) continue;
    s[k] = typeof d === "number" ? (Number.isFinite(Number(v)) ? Number(v) : d) : v;
  }
  return s as Settings;
}

function writeSettings(s: Settings): void {
  const q = new URLSearchParams();
  for (const [k, d] of Object.entries(DEFAULTS)) if ((s as Record<string, unknown>)[k] !== d) q.set(k, String((s as Record<string, unknown>)[k]));
  history.replaceState(null, "", `${location.pathname}${q.size ? `?${q}` : ""}`);
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** An image subset shipped with the page (scripts/playground.ts writes it from the npm data packages). */
async function imageSet(name: string): Promise<{ train: Points; test: Points }> {
  const buf = new Uint8Array(await (await fetch(`data/${name}-subset.bin`)).arrayBuffer());
  const head = new DataView(buf.buffer, 0, 16);
  const [nTrain, nTest, dim] = [head.getUint32(4, true), head.getUint32(8, true), head.getUint32(12, true)];
  let o = 16;
  const part = (n: number): Points => {
    const x = new Float32Array(n * dim);
    for (let i = 0; i < n * dim; i++) x[i] = buf[o + i] / 255;
    o += n * dim;
    const y = Int32Array.from(buf.subarray(o, o + n));
    o += n;
    return { x, y, n, dim, classes: 10 };
  };
  const train = part(nTrain);
  return { train, test: part(nTest) };
}

type Side = { run: PlaygroundRun; history: Snapshot[]; lambda: number | null; el: HTMLElement; color: string };

async function main(): Promise<void> {
  const s = readSettings();
  const status = $("status");
  const g = globalThis as unknown as { __playground?: Record<string, unknown> };
  const errors: string[] = [];
  window.addEventListener("error", (e) => errors.push(String(e.message)));
  let device: string;
  try {
    device = await initEngine(s.device === "webgpu" ? "webgpu" : "wasm");
  } catch (e) {
    status.textContent = `device ${s.device}: ${(e as Error).message}; using wasm`;
    device = await initEngine("wasm");
  }

  // Controls from the registry and the settings.
  const fill = (id: string, values: readonly string[]) => ($(id) as HTMLSelectElement).replaceChildren(...values.map((v) => new Option(v, v)));
  fill("problem", [...PROBLEMS, ...IMAGE_SETS]);
  // SAM-full/SAM-noise need a full-gradient oracle and SAF the trainer's memory of past logits.
  const names = Object.keys(ALGORITHMS).filter((n) => !["sam-full", "sam-noise", "saf"].includes(n));
  fill("a", names);
  fill("b", names);
  for (const [k, v] of Object.entries(s)) {
    const el = document.getElementById(k) as HTMLInputElement | null;
    if (!el) continue;
    el.value = String(v);
    const out = document.querySelector(`output[for="${k}"]`);
    if (out) out.textContent = String(v);
    el.addEventListener("change", () => {
      (s as Record<string, unknown>)[k] = el.type === "number" || el.type === "range" ? Number(el.value) : el.value;
      writeSettings(s);
      if (k === "device") location.reload();
      else void reset();
    });
    el.addEventListener("input", () => {
      if (out) out.textContent = el.value;
    });
  }

  let sides: Side[] = [];
  let running = false;
  let generation = 0;
  let twoD = true;
  let shown: Points | null = null;

  async function reset(): Promise<void> {
    generation++;
    running = false;
    for (const x of sides) x.run.dispose();
    sides = [];
    const data = (IMAGE_SETS as readonly string[]).includes(s.problem) ? await imageSet(s.problem) : toyProblem({ problem: s.problem as never, noise: s.noise, labelNoise: s.labelNoise, seed: s.seed });
    twoD = data.train.dim === 2;
    shown = twoD ? data.train : null;
    const hidden = Array.from({ length: Math.max(1, s.depth) }, () => Math.max(1, s.width));
    const base = { name: "sgd", lr: s.lr, momentum: 0.9 };
    const optimizer = (name: string) => {
      const o: Record<string, unknown> = { name, base };
      if ("rho" in ALGORITHMS[name].params) o.rho = s.rho;
      return o;
    };
    sides = (["a", "b"] as const).map((k, i) => {
      const name = s[k];
      const run = createRun({ optimizer: optimizer(name), hidden, batchSize: Math.min(s.batch, data.train.n), seed: s.seed }, data.train, data.test);
      const el = $(`run-${k}`);
      el.querySelector("h2")!.textContent = `${k.toUpperCase()}: ${ALGORITHMS[name].label}${"rho" in ALGORITHMS[name].params ? ` ρ=${s.rho}` : ""}`;
      (el.querySelector("canvas") as HTMLCanvasElement).style.display = twoD ? "" : "none";
      return { run, history: [], lambda: null, el, color: i === 0 ? "#1f77b4" : "#d62728" };
    });
    await observe(true);
    if (s.autorun > 0) void loop(s.autorun);
  }

  async function observe(withSharpness: boolean): Promise<void> {
    for (const x of sides) {
      x.history.push(await x.run.evaluate());
      if (withSharpness) x.lambda = await x.run.sharpness(20);
      const last = x.history.at(-1)!;
      x.el.querySelector(".readout")!.textContent = `step ${last.step}\ntrain loss ${last.trainLoss.toFixed(4)}, test loss ${last.testLoss.toFixed(4)}\ntest accuracy ${(100 * last.testAccuracy).toFixed(1)}%\nλ_max ${x.lambda === null ? "–" : x.lambda.toFixed(3)}`;
      if (twoD) drawBoundary(x.el.querySelector("canvas") as HTMLCanvasElement, await x.run.grid(48), shown);
    }
    drawLosses($("losses") as HTMLCanvasElement, sides);
  }

  let stepsPerSecond = 0;
  let trainStepsPerSecond = 0;
  async function loop(until = Infinity): Promise<void> {
    if (running) return;
    running = true;
    const gen = generation;
    const t0 = performance.now();
    const start = sides[0].run.steps;
    let trainMs = 0;
    while (running && gen === generation && sides[0].run.steps < until) {
      const k = Math.min(s.every, until - sides[0].run.steps);
      const t1 = performance.now();
      for (const x of sides) await x.run.train(k);
      trainMs += performance.now() - t1;
      const steps = sides[0].run.steps;
      // Both runs' steps per second: of training alone, and overall (with evaluation, heat maps, λ_max).
      trainStepsPerSecond = (2 * (steps - start)) / (trainMs / 1000);
      stepsPerSecond = (2 * (steps - start)) / ((performance.now() - t0) / 1000);
      await observe(steps % (4 * s.every) === 0 || steps >= until);
      status.textContent = `device ${device} · ${trainStepsPerSecond.toFixed(1)} training steps/s (${stepsPerSecond.toFixed(1)} with evaluation) · crossOriginIsolated ${globalThis.crossOriginIsolated}`;
      await new Promise((r) => setTimeout(r, 0));
    }
    running = false;
    if (gen === generation && until !== Infinity && sides[0].run.steps >= until) {
      g.__playground = {
        done: true,
        device,
        crossOriginIsolated: globalThis.crossOriginIsolated,
        errors,
        stepsPerSecond,
        trainStepsPerSecond,
        runs: sides.map((x) => ({ optimizer: x.run.optimizer.name, history: x.history, lambdaMax: x.lambda })),
      };
    }
  }

  $("run").addEventListener("click", () => void loop());
  $("pause").addEventListener("click", () => (running = false));
  $("step").addEventListener("click", () => void (async () => {
    if (running) return;
    for (const x of sides) await x.run.train(1);
    await observe(true);
  })());
  $("reset").addEventListener("click", () => void reset());
  status.textContent = `device ${device} · crossOriginIsolated ${globalThis.crossOriginIsolated}`;
  await reset();
}

/** P(class 1) as a blue–orange heat map over [-1.5, 1.5]², with the training points on top. */
function drawBoundary(canvas: HTMLCanvasElement, p: Float32Array, pts: Points | null): void {
  const res = Math.round(Math.sqrt(p.length));
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(res, res);
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    img.data.set([Math.round(255 * v), Math.round(120 + 60 * (1 - Math.abs(2 * v - 1))), Math.round(255 * (1 - v)), 255], 4 * i);
  }
  const tmp = new OffscreenCanvas(res, res);
  tmp.getContext("2d")!.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  if (!pts) return;
  const at = (v: number, size: number) => ((v + 1.5) / 3) * size;
  for (let i = 0; i < pts.n; i++) {
    ctx.beginPath();
    ctx.arc(at(pts.x[2 * i], canvas.width), canvas.height - at(pts.x[2 * i + 1], canvas.height), 2.2, 0, 2 * Math.PI);
    ctx.fillStyle = pts.y[i] === 1 ? "#ff7f0e" : "#1f77b4";
    ctx.strokeStyle = "#222";
    ctx.lineWidth = 0.6;
    ctx.fill();
    ctx.stroke();
  }
}

/** Both runs' train (solid) and test (dashed) loss against steps. */
function drawLosses(canvas: HTMLCanvasElement, sides: Side[]): void {
  const ctx = canvas.getContext("2d")!;
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const pts = sides.flatMap((x) => x.history.flatMap((e) => [e.trainLoss, e.testLoss])).filter(Number.isFinite);
  const maxStep = Math.max(1, ...sides.flatMap((x) => x.history.map((e) => e.step)));
  const top = Math.max(1e-6, ...pts);
  const X = (step: number) => 30 + ((w - 40) * step) / maxStep;
  const Y = (v: number) => h - 20 - ((h - 30) * Math.min(v, top)) / top;
  ctx.strokeStyle = "#999";
  ctx.strokeRect(30, 10, w - 40, h - 30);
  ctx.fillStyle = "#555";
  ctx.fillText(top.toPrecision(3), 2, 16);
  ctx.fillText(String(maxStep), w - 40, h - 6);
  for (const x of sides)
    for (const [key, dash] of [["trainLoss", []], ["testLoss", [5, 4]]] as const) {
      ctx.beginPath();
      ctx.setLineDash([...dash]);
      ctx.strokeStyle = x.color;
      x.history.forEach((e, i) => (i ? ctx.lineTo(X(e.step), Y(e[key])) : ctx.moveTo(X(e.step), Y(e[key]))));
      ctx.stroke();
    }
  ctx.setLineDash([]);
}

main().catch((e) => {
  const el = document.getElementById("status");
  if (el) el.textContent = `error: ${(e as Error).message}`;
  (globalThis as unknown as { __playground?: unknown }).__playground = { done: true, fatal: String((e as Error).stack ?? e) };
});
