/**
 * The library where TypeScript users are: bundled for browsers (no `node:` module may leak into
 * the main entry), and the playground page run in a real browser — Debian's chromium driven by
 * playwright-core (its own browser downloads do not work here; `executablePath`). Skipped with a
 * message naming the package when chromium is missing, failing instead under
 * REQUIRE_SYSTEM_DEPS=1. `SCREENSHOTS=1` writes docs/playground-*.png (the README's pictures).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { requireBinary, which } from "../system-deps.js";
import { buildPlayground, servePlayground } from "../../scripts/playground.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const chrome = requireBinary("chromium", "chromium");

test("the main entry bundles for platform=browser with no node: module", async () => {
  const r = await build({ entryPoints: [join(ROOT, "dist", "index.js")], bundle: true, platform: "browser", format: "esm", minify: true, write: false, metafile: true, logLevel: "silent" });
  const inputs = Object.keys(r.metafile.inputs);
  assert.ok(inputs.some((f) => f.includes("@jax-js/jax")), "the engine is in the bundle");
  assert.deepEqual(inputs.filter((f) => f.startsWith("node:") || /(^|\/)node_modules\/(fs|path|os|child_process)\//.test(f)), []);
  const text = new TextDecoder().decode(r.outputFiles[0].contents);
  assert.equal(/["'`]node:[a-z_/]+["'`]/.exec(text)?.[0], undefined, "no node: specifier in the bundle");
});

type Outcome = { done: boolean; fatal?: string; device: string; crossOriginIsolated: boolean; errors: string[]; stepsPerSecond: number; trainStepsPerSecond: number; runs: { optimizer: string; history: { step: number; trainLoss: number; testLoss: number }[]; lambdaMax: number | null }[] };

test("the playground in Chromium: SGD vs SAM train side by side on the spiral and the MNIST subset (wasm; WebGPU when an adapter appears)", { skip: chrome.skip, timeout: 240_000 }, async (t) => {
  const { chromium } = await import("playwright-core");
  const dir = mkdtempSync(join(tmpdir(), "playground-"));
  const info = await buildPlayground(dir);
  t.diagnostic(`main.js ${info.bytes} bytes minified, ${info.gzip} gzip`);
  const { url, server } = await servePlayground(dir);
  const shots = process.env.SCREENSHOTS === "1" ? join(ROOT, "docs") : null;
  // The pictures show a longer race than the check needs.
  const spiralSteps = shots ? 400 : 60;
  if (shots) mkdirSync(shots, { recursive: true });

  async function runPage(device: "wasm" | "webgpu", args: string[], problem = "spiral", query = `autorun=${spiralSteps}&every=20`): Promise<Outcome | string> {
    const browser = await chromium.launch({ executablePath: which("chromium")!, args: ["--no-sandbox", ...args] });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 820 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      if (device === "webgpu") {
        await page.goto(url);
        const adapter = await page.evaluate(async () => {
          const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
          if (!gpu) return "navigator.gpu is undefined";
          return (await gpu.requestAdapter()) ? "" : "requestAdapter() returned null";
        });
        if (adapter) return adapter;
      }
      await page.goto(`${url}?problem=${problem}&a=sgd&b=sam&${query}&device=${device}`);
      await page.waitForFunction(() => (globalThis as { __playground?: { done?: boolean } }).__playground?.done === true, null, { timeout: 180_000 });
      const out = (await page.evaluate(() => (globalThis as { __playground?: unknown }).__playground)) as Outcome;
      out.errors = [...(out.errors ?? []), ...errors];
      const drawn = await page.evaluate(() =>
        [...document.querySelectorAll("canvas")].map((c) => {
          const d = (c as HTMLCanvasElement).getContext("2d")!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data;
          let ink = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
          return ink;
        }),
      );
      assert.equal(drawn.length, 3);
      // the two decision boundaries (2-D problems only) and the loss chart
      for (const [i, ink] of drawn.entries()) if (problem === "spiral" || i === 2) assert.ok(ink > 500, `${problem}: canvas ${i} has ${ink} drawn pixels`);
      if (shots) await page.screenshot({ path: join(shots, `playground-${problem}-${device}.png`) });
      return out;
    } finally {
      await browser.close();
    }
  }

  function check(o: Outcome, device: string, steps = spiralSteps, what = "MLP 2-16-16-2, batch 32"): void {
    assert.equal(o.fatal, undefined, o.fatal);
    assert.deepEqual(o.errors, [], "no page errors");
    assert.equal(o.device, device);
    assert.equal(o.crossOriginIsolated, true, "COOP/COEP served: crossOriginIsolated");
    assert.deepEqual(o.runs.map((r) => r.optimizer), ["sgd", "sam"]);
    for (const r of o.runs) {
      const first = r.history[0];
      const last = r.history.at(-1)!;
      assert.equal(last.step, steps);
      assert.ok(r.history.every((e) => Number.isFinite(e.trainLoss) && Number.isFinite(e.testLoss)), `${r.optimizer}: finite losses`);
      assert.ok(last.trainLoss < first.trainLoss, `${r.optimizer}: train loss ${first.trainLoss} → ${last.trainLoss}`);
      assert.ok(typeof r.lambdaMax === "number" && Number.isFinite(r.lambdaMax), `${r.optimizer}: λ_max ${r.lambdaMax}`);
    }
    assert.ok(o.stepsPerSecond > 0);
    t.diagnostic(`${device}: ${o.trainStepsPerSecond.toFixed(1)} training steps/s, ${o.stepsPerSecond.toFixed(1)} with evaluation every 20 steps (both runs, ${what}); λ_max SGD ${o.runs[0].lambdaMax!.toFixed(3)}, SAM ${o.runs[1].lambdaMax!.toFixed(3)}`);
  }

  try {
    const wasm = await runPage("wasm", []);
    assert.notEqual(typeof wasm, "string", String(wasm));
    check(wasm as Outcome, "wasm");
    const mnist = await runPage("wasm", [], "mnist", "width=64&depth=1&batch=64&autorun=40&every=20");
    assert.notEqual(typeof mnist, "string", String(mnist));
    check(mnist as Outcome, "wasm", 40, "MNIST subset, MLP 784-64-10, batch 64");
    const gpu = await runPage("webgpu", ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-angle=swiftshader", "--use-webgpu-adapter=swiftshader"]);
    if (typeof gpu === "string") t.diagnostic(`WebGPU skipped: no adapter in this Chromium (${gpu})`);
    else check(gpu, "webgpu");
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
