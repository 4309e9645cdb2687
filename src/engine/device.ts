/**
 * Starting the engine: one `initEngine` for Node and browsers.
 *
 * jax-js's bare `init()` crashes in Node (it reads `navigator`), so we ask for backends by name.
 * WebGPU is used where an adapter exists: natively in browsers, and in Node when the optional npm
 * package `webgpu` (Dawn) is installed and the machine has a Vulkan driver. Otherwise wasm.
 *
 * Browser-safe: the Node-only `webgpu` package is loaded through a computed specifier so that
 * bundlers leave it alone.
 */
import "./polyfills.js";
import { defaultDevice, init, type Device } from "@jax-js/jax";

/**
 * The device {@link initEngine} is asked for: `"auto"` (WebGPU where an adapter exists, else
 * wasm), `"wasm"`, `"webgpu"` or `"cpu"` (jax-js's slow reference backend, for debugging).
 *
 * @example
 * ```ts
 * await initEngine("wasm" satisfies EngineDevice);
 * ```
 */
export type EngineDevice = "auto" | "wasm" | "webgpu" | "cpu";

let started: Device | null = null;

async function ensureNodeWebGPU(): Promise<boolean> {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav?.gpu) return true;
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  const isNode = !!proc?.versions?.node;
  if (!isNode) return false;
  try {
    const spec = ["web", "gpu"].join("");
    const mod = (await import(spec)) as { create?: (o: string[]) => unknown; globals?: object };
    if (!mod.create) return false;
    if (mod.globals) Object.assign(globalThis, mod.globals);
    const gpu = mod.create([]);
    const g = globalThis as unknown as { navigator?: Record<string, unknown> };
    if (!g.navigator) Object.defineProperty(globalThis, "navigator", { value: {}, configurable: true });
    (g.navigator as Record<string, unknown>).gpu = gpu;
    const adapter = await (gpu as { requestAdapter(): Promise<unknown> }).requestAdapter();
    return !!adapter;
  } catch {
    return false;
  }
}

/**
 * Start a jax-js backend and make it the default device.
 *
 * `"auto"` (default) picks WebGPU where an adapter exists, else wasm. Calling it again returns
 * the device already started. Throws an `Error` naming the device when an explicitly requested
 * one is unavailable.
 *
 * @example
 * ```ts
 * const device = await initEngine(); // "wasm" on a CPU-only machine
 * ```
 */
export async function initEngine(device: EngineDevice = "auto"): Promise<Device> {
  if (started && (device === "auto" || device === started)) return started;
  let want: Device[];
  if (device === "auto") want = (await ensureNodeWebGPU()) ? ["webgpu", "wasm"] : ["wasm"];
  else if (device === "webgpu") {
    if (!(await ensureNodeWebGPU())) throw new Error('device "webgpu": no WebGPU adapter here (in Node install the "webgpu" package and a Vulkan driver)');
    want = ["webgpu"];
  } else want = [device];
  const available = await init(...want);
  const chosen = want.find((d) => available.includes(d));
  if (!chosen) throw new Error(`device "${device}": not available (have ${available.join(", ")})`);
  defaultDevice(chosen);
  started = chosen;
  return chosen;
}
