/**
 * Docs derived from the registry: the README's hyperparameter table is this function's output
 * (between `<!-- registry:start -->` and `<!-- registry:end -->`; `npm run docs` rewrites it and
 * a test checks it is current). Browser-safe.
 */
import { allowedText, type Hyper } from "../optim/hyper.js";
import { ALGORITHMS, BASES } from "./registry.js";

const dflt = (h: Hyper) => (h.default === undefined ? "required" : h.default === null ? "unset" : String(h.default));
const cell = (s: string) => s.replace(/\|/g, "\\|");

/** Markdown: one row per algorithm and base optimizer, each hyperparameter with default and range. */
export function registryTable(): string {
  const rows = ["| name | what | hyperparameters: default (allowed) | passes | reference |", "|---|---|---|---|---|"];
  for (const e of Object.values(ALGORITHMS)) {
    const ps = Object.entries(e.params).map(([k, h]) => `\`${k}\` ${dflt(h)} (${h.type === "enum" ? h.values.join("/") : allowedText(h)})`);
    rows.push(`| \`${e.name}\` | ${cell(e.label)} | ${cell(ps.join("; ") || "–")} | ${e.passes} | ${cell(e.paper)} |`);
  }
  for (const e of Object.values(BASES)) {
    const ps = Object.entries(e.params).map(([k, h]) => `\`${k}\` ${dflt(h)} (${h.type === "enum" ? h.values.join("/") : allowedText(h)})`);
    rows.push(`| base \`${e.name}\` | ${cell(e.label)} | ${cell(ps.join("; "))} | – | ${cell(e.paper)} |`);
  }
  return rows.join("\n");
}
