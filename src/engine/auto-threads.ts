/**
 * Whether the `sharpness` CLI turns on wasm worker threads, decided before jax-js is imported
 * (threads are fixed at import; node-threads.ts). Node-only.
 *
 * Asked for: `--threads` / `--threads=true` / SHARPNESS_THREADS=1 → on; `--threads=false` /
 * SHARPNESS_THREADS=0 → off. Otherwise `train` chooses: on for the CNN without m-sharpness
 * sub-batches on a machine with ≥ 2 cores, off for everything else. Measured on 2 cores
 * (docs/performance.md): a CNN SAM step gains ×1.5 and a 2-epoch CNN run takes 11.4 s instead of
 * 18.3 s, with bit-identical results; the MLPs gain nothing reliable, and m-SAM's many small
 * kernels run 1.3-2.5× slower with threads. Sweeps and `reproduce` run one process per core
 * instead (`--jobs`), so they never choose threads.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

export type ThreadsChoice = { on: boolean; auto: boolean };

/** The value of `--name V` or `--name=V` in `argv` (the last one wins, like the flag parser). */
function flagValue(argv: string[], name: string): string | undefined {
  let v: string | undefined;
  argv.forEach((a, i) => {
    if (a === `--${name}` && i + 1 < argv.length) v = argv[i + 1];
    else if (a.startsWith(`--${name}=`)) v = a.slice(name.length + 3);
  });
  return v;
}

/**
 * Threads for this command line. Never throws: a spec file it cannot read counts as "not a CNN"
 * (the command itself then reports the problem).
 *
 * @example threadsFor(["train", "--model", "cnn"]) // { on: true, auto: true } on 2+ cores
 */
export function threadsFor(argv: string[], env: Record<string, string | undefined> = process.env, cores = availableParallelism()): ThreadsChoice {
  const asked = flagValue(argv, "threads");
  if (argv.includes("--threads") || asked === "true" || env.SHARPNESS_THREADS === "1") return { on: true, auto: false };
  if (asked !== undefined || env.SHARPNESS_THREADS === "0") return { on: false, auto: false };
  if (argv[0] !== "train" || cores < 2) return { on: false, auto: false };
  let model = flagValue(argv, "model");
  let m: unknown = flagValue(argv, "m");
  const specFile = flagValue(argv, "spec");
  if (specFile !== undefined) {
    try {
      const spec = JSON.parse(readFileSync(specFile, "utf8"));
      model ??= spec?.model?.name;
      m ??= spec?.optimizer?.m ?? undefined;
    } catch {
      return { on: false, auto: false };
    }
  }
  const on = model === "cnn" && (m === undefined || m === null);
  return { on, auto: on };
}
