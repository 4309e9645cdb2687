/**
 * CLI flags derived from the registry: every hyperparameter of every data set, model, algorithm
 * and base optimizer is a flag named after its spec field in kebab case (`weightDecay` →
 * `--weight-decay`), plus `--dataset/--model/--optimizer/--base` to pick the entries. Flags
 * build a run spec on top of a preset (a spec file or the command's defaults); a flag for a
 * hyperparameter the chosen algorithm does not have is an error naming who has it.
 */
import { allowedText, type Hyper } from "../optim/hyper.js";
import { ALGORITHMS, BASES, DATASETS, MODELS, RUN_PARAMS, type Params } from "../train/registry.js";
import { isObject, type SpecError } from "../train/spec.js";
import { UsageError, type FlagSpec } from "./args.js";
import { parseValue } from "../train/compare.js";

export const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

type Where = "run" | "data" | "model" | "optimizer" | "base";
type FlagInfo = { field: string; where: Where; owners: { name: string; h: Hyper }[] };

const SELECTORS: Record<string, { where: Where; entries: Record<string, unknown>; help: string }> = {
  dataset: { where: "data", entries: DATASETS, help: "data set" },
  model: { where: "model", entries: MODELS, help: "model" },
  optimizer: { where: "optimizer", entries: ALGORITHMS, help: "optimizer (sgd = the base optimizer alone)" },
  base: { where: "base", entries: BASES, help: "base optimizer" },
};

/** Every hyperparameter flag: where its field lives and which entries have it. */
export const FLAG_INFO: Record<string, FlagInfo> = (() => {
  const out: Record<string, FlagInfo> = Object.create(null);
  const add = (where: Where, name: string, params: Params) => {
    for (const [field, h] of Object.entries(params)) {
      const flag = kebab(field);
      const info = (out[flag] ??= { field, where, owners: [] });
      if (info.where !== where) throw new Error(`registry: flag --${flag} is declared for both ${info.where} and ${where}`);
      info.owners.push({ name, h });
    }
  };
  add("run", "run", RUN_PARAMS);
  for (const e of Object.values(DATASETS)) add("data", e.name, e.params);
  for (const e of Object.values(MODELS)) add("model", e.name, e.params);
  for (const e of Object.values(ALGORITHMS)) add("optimizer", e.name, e.params);
  for (const e of Object.values(BASES)) add("base", e.name, e.params);
  return out;
})();

function flagKind(h: Hyper): FlagSpec["kind"] {
  if (h.type === "boolean") return "bool";
  if (h.type === "enum") return "string";
  if (h.allowInfinity) return "string";
  return h.integer ? "int" : "number";
}

const fmt = (v: unknown) => (v === null ? "unset" : typeof v === "string" ? v : String(v));

/** The flag table for --help and parsing. */
export function specFlags(): Record<string, FlagSpec> {
  const out: Record<string, FlagSpec> = {};
  for (const [flag, s] of Object.entries(SELECTORS)) out[flag] = { kind: "string", choices: Object.keys(s.entries), help: s.help };
  for (const [flag, info] of Object.entries(FLAG_INFO)) {
    const h0 = info.owners[0].h;
    const docs = [...new Set(info.owners.map((o) => o.h.doc))];
    const defaults = info.owners.map((o) => `${o.name} ${fmt(o.h.default)}`);
    const sameDefault = new Set(info.owners.map((o) => fmt(o.h.default))).size === 1;
    const who = info.where === "optimizer" || info.where === "base" ? `${info.owners.map((o) => o.name).join(", ")}: ` : "";
    const dflt = h0.default === undefined ? "" : sameDefault ? ` (default ${fmt(h0.default)})` : ` (default ${defaults.join(", ")})`;
    const choices = h0.type === "enum" ? [...new Set(info.owners.flatMap((o) => (o.h.type === "enum" ? [...o.h.values] : [])))] : undefined;
    out[flag] = { kind: flagKind(h0), choices, help: `${who}${docs.join("; ")}${dflt}` };
  }
  return out;
}


/** The flag a spec path is set by ("optimizer.base.lr" → "--lr", "optimizer.name" → "--optimizer"). */
export function flagOfPath(path: string): string {
  if (path === "data.name") return "--dataset";
  if (path === "model.name") return "--model";
  if (path === "optimizer.name") return "--optimizer";
  if (path === "optimizer.base.name") return "--base";
  return `--${kebab(path.split(".").at(-1)!)}`;
}

/** A spec error as the CLI says it: field paths replaced by their flags. */
export function flagMessage(e: SpecError): string {
  return e.message.replace(/\b(data|model|optimizer)(\.[A-Za-z]+)+|\b(epochs|batchSize|seed)\b(?= )/g, (m) => flagOfPath(m));
}

/**
 * A spec from `preset` (unfilled JSON) with the flags applied, filled and checked. Picking a
 * different `--optimizer`/`--base`/`--model`/`--dataset` than the preset's starts that section
 * from the new entry's defaults (a model or data set keeps the fields the new one also has).
 */
export function applyFlags(preset: Record<string, any>, flags: Record<string, unknown>): Record<string, any> {
  const s = structuredClone(preset);
  s.data = isObject(s.data) ? s.data : {};
  s.model = isObject(s.model) ? s.model : {};
  s.optimizer = isObject(s.optimizer) ? s.optimizer : {};
  s.optimizer.base = isObject(s.optimizer.base) ? s.optimizer.base : {};
  const keepShared = (old: Record<string, any>, name: string, params: Params) => {
    const next: Record<string, any> = { name };
    for (const k of Object.keys(old)) if (k in params) next[k] = old[k];
    return next;
  };
  if (flags.dataset !== undefined && flags.dataset !== s.data.name) s.data = keepShared(s.data, flags.dataset as string, DATASETS[flags.dataset as string].params);
  if (flags.model !== undefined && flags.model !== s.model.name) s.model = keepShared(s.model, flags.model as string, MODELS[flags.model as string].params);
  if (flags.optimizer !== undefined && flags.optimizer !== s.optimizer.name) s.optimizer = { name: flags.optimizer, base: s.optimizer.base };
  if (flags.base !== undefined && flags.base !== s.optimizer.base.name) s.optimizer.base = { name: flags.base };
  const names = { data: s.data.name ?? "fashion-mnist", model: s.model.name ?? "mlp", optimizer: s.optimizer.name ?? "sam", base: s.optimizer.base.name ?? "sgd" };
  const target = { run: s, data: s.data, model: s.model, optimizer: s.optimizer, base: s.optimizer.base };
  for (const [flag, raw] of Object.entries(flags)) {
    const info = FLAG_INFO[flag];
    if (!info || raw === undefined) continue;
    const owner = info.where === "run" ? "run" : names[info.where];
    const mine = info.owners.find((o) => o.name === owner);
    if (!mine) {
      const kind = info.where === "base" ? "base optimizer" : info.where === "data" ? "data set" : info.where;
      throw new UsageError(`--${flag} is not a hyperparameter of ${kind} ${owner} (it is of ${info.owners.map((o) => o.name).join(", ")})`);
    }
    let v: unknown = raw;
    // Number flags that also take "inf" arrive as strings (flagKind): parse as a token value is.
    if (typeof raw === "string" && mine.h.type === "number") {
      try {
        v = parseValue(mine.h, raw, `--${flag}`);
      } catch {
        throw new UsageError(`--${flag} must be ${allowedText(mine.h)} (got ${JSON.stringify(raw)})`);
      }
    }
    target[info.where][info.field] = v;
  }
  return s;
}

/** Names of the flags that set spec fields (for commands that refuse them, e.g. --resume). */
export const SPEC_FLAG_NAMES = [...Object.keys(SELECTORS), ...Object.keys(FLAG_INFO)];
