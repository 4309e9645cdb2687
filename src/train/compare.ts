/**
 * Several optimizers (and seeds) on one setting, as run specs. Optimizer tokens are the CLI's
 * `name[:key=value]…`, e.g. `asam:rho=1:adaptiveLeaves=weights`; a key is a hyperparameter of
 * the algorithm or of its base optimizer (`sam:lr=0.1`), written as in specs (camelCase) or as
 * its flag (kebab case). Browser-safe.
 */
import type { Hyper } from "../optim/hyper.js";
import { ALGORITHMS, BASES } from "./registry.js";
import { SpecError } from "./spec.js";

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** A flag or token value as its hyperparameter's type. */
export function parseValue(h: Hyper, raw: string, where: string): unknown {
  if (h.type === "boolean") {
    if (raw !== "true" && raw !== "false") throw new SpecError(`${where} must be true or false (got ${JSON.stringify(raw)})`);
    return raw === "true";
  }
  if (h.type === "enum") return raw;
  if (h.allowInfinity && /^inf(inity)?$/i.test(raw)) return "inf";
  if (h.default === null && raw === "null") return null;
  const v = raw.trim() === "" ? NaN : Number(raw);
  if (!Number.isFinite(v)) throw new SpecError(`${where} must be a number (got ${JSON.stringify(raw)})`);
  return v;
}

/**
 * The optimizer section a token describes, on `base` (the common base optimizer section).
 *
 * Throws `SpecError` on an unknown optimizer or a bad override (naming the keys allowed). Copies
 * `base`.
 *
 * @example
 * ```ts
 * optimizerFromToken("fsam:rho=0.1:lambda=0.6", { name: "sgd", lr: 0.05 })
 * // { name: "fsam", base: { name: "sgd", lr: 0.05 }, rho: 0.1, lambda: 0.6 }
 * ```
 */
export function optimizerFromToken(token: string, base: Record<string, unknown>): Record<string, unknown> {
  const [name, ...parts] = token.split(":");
  const entry = ALGORITHMS[name];
  if (!entry) throw new SpecError(`--optimizers: unknown optimizer ${JSON.stringify(name)} (known: ${Object.keys(ALGORITHMS).join(", ")})`);
  const out: Record<string, unknown> = { name, base: { ...base } };
  const baseEntry = BASES[(base.name as string) ?? "sgd"];
  for (const p of parts) {
    const m = /^([a-zA-Z][a-zA-Z0-9-]*)=(.*)$/.exec(p);
    const key = m ? camel(m[1]) : "";
    const inAlgo = m && key in entry.params;
    const inBase = m && baseEntry && key in baseEntry.params;
    if (!m || (!inAlgo && !inBase)) {
      const keys = [...Object.keys(entry.params), ...Object.keys(baseEntry?.params ?? {})];
      throw new SpecError(`--optimizers: bad override ${JSON.stringify(p)} in ${JSON.stringify(token)} (use name:key=value with key one of ${keys.join(", ")})`);
    }
    const h = inAlgo ? entry.params[key] : baseEntry.params[key];
    const v = parseValue(h, m[2], `--optimizers: ${key} in ${JSON.stringify(token)}`);
    if (inAlgo) out[key] = v;
    else (out.base as Record<string, unknown>)[key] = v;
  }
  return out;
}
