/**
 * Checkpoints: everything needed to continue a run bit for bit.
 *
 * Layout of `ROOT/step-00000123/` (one directory per checkpoint, ROOT = `<out>/checkpoints`):
 *
 *   params.safetensors     "params.<leaf path>" and "model_state.<leaf path>" (BatchNorm stats)
 *   optimizer.safetensors  "optimizer.<leaf path>" — the whole optimizer state tree: the base
 *                          optimizer's (momentum, Adam moments, count), the sharpness-aware
 *                          state (F-SAM's EMA, LookSAM's g_v, PRNG keys, step count, skipped
 *                          steps, MESA's EMA weights) — and "full_grad.<leaf path>" for
 *                          SAM-full/SAM-noise, "saf_memory" for SAF (the trainer's host memory
 *                          of past logits, [minusEpoch + 1, examples, classes] float32)
 *   trainer.json           { format, step, spec, key, position (epoch, step in epoch, global step,
 *                          partial epoch loss), history, host RNG state, elapsed seconds }
 *
 * Leaf paths are the dotted paths of jax-js's flatten order (e.g. "base.mu.layers.0.w").
 * `ROOT/latest` names the newest complete checkpoint.
 *
 * Writes are atomic: the directory is written under a temporary name, its files fsync'ed, then
 * renamed into place, and only then is `latest` replaced (temp file + rename). A crash at any
 * point leaves the previous checkpoint loadable; leftovers are removed by the next write.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type TensorData } from "../engine/safetensors.js";
import { leafPaths, type Params } from "../engine/tree.js";

/**
 * The `format` of a checkpoint's trainer.json this version writes and reads.
 *
 * @example
 * ```ts
 * readCheckpointMeta(dir).format === CHECKPOINT_FORMAT; // true (older formats throw)
 * ```
 */
export const CHECKPOINT_FORMAT = "sharpness-aware-checkpoint/2";
/** Checkpoints of version 0.1 (a flat config instead of a run spec). */
const OLD_FORMATS = ["sharpness-aware-checkpoint/1"];

/**
 * A checkpoint that is missing, corrupted, or does not match the model/optimizer; the message is
 * one line naming the file or what differs.
 *
 * @example
 * ```ts
 * try { readCheckpointTrees(dir, templates); } catch (e) { if (e instanceof CheckpointError) console.error(e.message); }
 * ```
 */
export class CheckpointError extends Error {
  /** Always "CheckpointError". */
  override name = "CheckpointError";
}

const key = (group: string, path: string) => (path ? `${group}.${path}` : group);

/** Host copies of every leaf of the groups' trees, named group.path. Does not consume. */
async function toTensors(groups: Record<string, Params | undefined>): Promise<Record<string, TensorData>> {
  const out: Record<string, TensorData> = {};
  for (const [group, t] of Object.entries(groups)) {
    if (t === undefined) continue;
    const paths = leafPaths(t);
    const leaves = tree.leaves(t) as np.Array[];
    for (let i = 0; i < leaves.length; i++) {
      const x = leaves[i];
      out[key(group, paths[i])] = { dtype: String(x.dtype), shape: x.shape, data: (await x.ref.data()) as ArrayBufferView };
    }
  }
  return out;
}

function writeFileSynced(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, "w");
  try {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  try {
    const fd = openSync(path, "r");
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    // not supported on every platform; the renames are still atomic
  }
}

/** What one checkpoint holds: the weights (params.safetensors), the optimizer state (optimizer.safetensors) and trainer.json's fields. */
export type CheckpointContent = {
  /** Parameters and model state. */
  weights: Record<string, Params | undefined>;
  /** Optimizer state (and the full gradient). */
  state: Record<string, Params | undefined>;
  /** trainer.json contents (format and step are added). */
  meta: Record<string, unknown>;
};

/**
 * Write checkpoint `step` under `root` atomically, point `latest` at it, keep the newest `keep`.
 * Does not consume the trees. Returns the checkpoint's directory.
 *
 * @example
 * ```ts
 * const dir = await writeCheckpoint("runs/x/checkpoints", step, { weights: { params, model_state: modelState }, state: { optimizer: optState }, meta: { spec } });
 * ```
 */
export async function writeCheckpoint(root: string, step: number, content: CheckpointContent, keep = 2): Promise<string> {
  mkdirSync(root, { recursive: true });
  const name = `step-${String(step).padStart(8, "0")}`;
  const final = join(root, name);
  const tmp = join(root, `${name}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  writeFileSynced(join(tmp, "params.safetensors"), encodeSafetensors(await toTensors(content.weights), { format: CHECKPOINT_FORMAT }));
  writeFileSynced(join(tmp, "optimizer.safetensors"), encodeSafetensors(await toTensors(content.state), { format: CHECKPOINT_FORMAT }));
  writeFileSynced(join(tmp, "trainer.json"), JSON.stringify({ format: CHECKPOINT_FORMAT, step, ...content.meta }, null, 1));
  fsyncDir(tmp);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  fsyncDir(root);
  writeFileSynced(join(root, "latest.tmp"), name);
  renameSync(join(root, "latest.tmp"), join(root, "latest"));
  fsyncDir(root);
  // Prune: leftovers of interrupted writes, and all but the newest `keep` checkpoints.
  const entries = readdirSync(root);
  for (const e of entries) if (e.includes(".tmp")) rmSync(join(root, e), { recursive: true, force: true });
  const done = entries.filter((e) => /^step-\d+$/.test(e)).sort();
  for (const e of done.slice(0, Math.max(0, done.length - keep))) if (e !== name) rmSync(join(root, e), { recursive: true, force: true });
  return final;
}

/**
 * The newest complete checkpoint under `root` (following `latest`), or null if there is none.
 *
 * @example
 * ```ts
 * const dir = findLatest("runs/x/checkpoints"); // "runs/x/checkpoints/step-00000780" or null
 * ```
 */
export function findLatest(root: string): string | null {
  if (!existsSync(root)) return null;
  const pointer = join(root, "latest");
  if (existsSync(pointer)) {
    const name = readFileSync(pointer, "utf8").trim();
    if (/^step-\d+$/.test(name) && existsSync(join(root, name, "trainer.json"))) return join(root, name);
  }
  const done = readdirSync(root).filter((e) => /^step-\d+$/.test(e) && existsSync(join(root, e, "trainer.json"))).sort();
  return done.length ? join(root, done[done.length - 1]) : null;
}

function readTensors(file: string): Record<string, TensorData> {
  if (!existsSync(file)) throw new CheckpointError(`checkpoint: missing file ${file}`);
  try {
    return decodeSafetensors(new Uint8Array(readFileSync(file))).tensors;
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError(`checkpoint: ${file} is corrupted (${e.message})`);
    throw e;
  }
}

/**
 * trainer.json of a checkpoint directory (format, step, spec, key, position, history, …).
 * Throws {@link CheckpointError} when it is missing, not JSON, or of another format.
 *
 * @example
 * ```ts
 * const { step, spec } = readCheckpointMeta(findLatest("runs/x/checkpoints")!);
 * ```
 */
export function readCheckpointMeta(dir: string): Record<string, any> {
  const file = join(dir, "trainer.json");
  if (!existsSync(file)) throw new CheckpointError(`checkpoint: missing file ${file}`);
  let meta: Record<string, any>;
  try {
    meta = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new CheckpointError(`checkpoint: ${file} is corrupted (not JSON)`);
  }
  if (OLD_FORMATS.includes(meta.format)) throw new CheckpointError(`checkpoint ${dir} is in the old format ${meta.format} (a flat config, before run specs); this version reads ${CHECKPOINT_FORMAT}: retrain the run`);
  if (meta.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`checkpoint: ${file} has format ${JSON.stringify(meta.format)}, expected ${CHECKPOINT_FORMAT}`);
  return meta;
}

/**
 * Load the trees of a checkpoint shaped like `templates` (fresh trees of the same model and
 * optimizer; consumed). Throws `CheckpointError` listing what differs (names, shapes, dtypes).
 * `weightsOnly` reads params.safetensors alone (parameters and model state, for measurements).
 *
 * @example
 * ```ts
 * const fresh = model.init(0); // templates: consumed
 * const loaded = readCheckpointTrees(dir, { params: fresh.params, model_state: fresh.state }, { weightsOnly: true });
 * ```
 */
export function readCheckpointTrees(dir: string, templates: Record<string, Params | undefined>, { weightsOnly = false } = {}): Record<string, Params> {
  const stored = { ...readTensors(join(dir, "params.safetensors")), ...(weightsOnly ? {} : readTensors(join(dir, "optimizer.safetensors"))) };
  const problems: string[] = [];
  const expected = new Set<string>();
  const plans: [string, any, { name: string; shape: number[]; dtype: string }[]][] = [];
  for (const [group, t] of Object.entries(templates)) {
    if (t === undefined) continue;
    const [leaves, def] = tree.flatten(t) as [np.Array[], any];
    const paths = leafPaths(t);
    const specs = leaves.map((x, i) => ({ name: key(group, paths[i]), shape: x.shape, dtype: String(x.dtype) }));
    tree.dispose(t);
    for (const s of specs) {
      expected.add(s.name);
      const got = stored[s.name];
      if (!got) problems.push(`${s.name} [${s.shape}] ${s.dtype} is missing from the checkpoint`);
      else if (got.shape.length !== s.shape.length || got.shape.some((d, k) => d !== s.shape[k])) problems.push(`${s.name} has shape [${got.shape}] in the checkpoint, [${s.shape}] here`);
      else if (got.dtype !== s.dtype) problems.push(`${s.name} has dtype ${got.dtype} in the checkpoint, ${s.dtype} here`);
    }
    plans.push([group, def, specs]);
  }
  for (const name of Object.keys(stored)) if (!expected.has(name)) problems.push(`the checkpoint has ${name} [${stored[name].shape}], which this model/optimizer does not`);
  if (problems.length) {
    const more = problems.length > 4 ? `; and ${problems.length - 4} more` : "";
    throw new CheckpointError(`checkpoint ${dir} does not match the model/optimizer: ${problems.slice(0, 4).join("; ")}${more}`);
  }
  const out: Record<string, Params> = {};
  for (const [group, def, specs] of plans) {
    const arrays = specs.map((s) => np.array(stored[s.name].data as any, { dtype: s.dtype as any }).reshape(s.shape));
    out[group] = tree.unflatten(def, arrays) as Params;
  }
  return out;
}
