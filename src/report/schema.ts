/**
 * Validation of stored results and sweep summaries against the package's JSON Schemas
 * (schema/result.schema.json, schema/summary.schema.json; draft-07, checked with ajv). The
 * schemas are read from the package root, found by walking up from this file (dist/report or
 * build/src/report) to the first directory holding package.json and schema/. Node-only.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import AjvModule, { type ErrorObject, type ValidateFunction } from "ajv";

// ajv is CommonJS: under NodeNext the default import is its module object, whose `default` is the class.
const Ajv = AjvModule.default;

/** The package's schema/ directory. */
export function schemaDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "schema", "result.schema.json"))) return join(dir, "schema");
    const up = dirname(dir);
    if (up === dir) throw new Error(`no schema/result.schema.json in any parent of ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

let compiled: { result: ValidateFunction; summary: ValidateFunction } | null = null;

function validators() {
  if (compiled) return compiled;
  const dir = schemaDir();
  const read = (name: string) => JSON.parse(readFileSync(join(dir, name), "utf8")) as Record<string, unknown>;
  // allowUnionTypes: the schemas use ["number", "null"] for values JSON cannot hold as numbers (NaN).
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
  const result = read("result.schema.json");
  ajv.addSchema(result);
  compiled = { result: ajv.compile(result), summary: ajv.compile(read("summary.schema.json")) };
  return compiled;
}

/** "/history/2/testAccuracy" → "history[2].testAccuracy". */
function dotted(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((p, s) => (/^\d+$/.test(s) ? `${p}[${s}]` : p ? `${p}.${s}` : s), "");
}

const at = (path: string, field: string) => (path ? `${path}.${field}` : field);

function messages(errors: ErrorObject[] | null | undefined): string[] {
  const out = (errors ?? []).map((e) => {
    const path = dotted(e.instancePath);
    const p = e.params as Record<string, unknown>;
    if (e.keyword === "required") return `${at(path, String(p.missingProperty))}: is required`;
    if (e.keyword === "additionalProperties") return `${at(path, String(p.additionalProperty))}: is not a known field`;
    if (e.keyword === "const") return `${path || "(root)"}: must be ${JSON.stringify(p.allowedValue)}`;
    return `${path || "(root)"}: ${e.message ?? e.keyword}`;
  });
  return [...new Set(out)];
}

/** Problems of `obj` as a stored run result, one "path: problem" line each; empty when valid. */
export function validateResult(obj: unknown): string[] {
  const v = validators().result;
  return v(obj) ? [] : messages(v.errors);
}

/** Problems of `obj` as a sweep summary (summary.json), results included; empty when valid. */
export function validateSummary(obj: unknown): string[] {
  const v = validators().summary;
  return v(obj) ? [] : messages(v.errors);
}
