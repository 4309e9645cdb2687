/** src/optim, src/sam and everything index.ts pulls in must bundle for browsers: no `node:`. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const src = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "src");
const NODE_ONLY = /from\s+["'](node:|fs["']|path["']|os["']|child_process)|import\(\s*["']node:/;

function closure(entry: string): string[] {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    // `import type … from` / `export type … from` are erased by every compiler and bundler: not followed.
    for (const m of readFileSync(f, "utf8").matchAll(/\b(import|export)\s+(type\s+)?[^;"']*?from\s+["'](\.[^"']+)["']|import\s+["'](\.[^"']+)["']/g)) {
      if (m[2]) continue;
      const rel = (m[3] ?? m[4]).replace(/\.js$/, ".ts");
      const p = resolve(dirname(f), rel);
      if (existsSync(p)) stack.push(p);
    }
  }
  return [...seen];
}

test("index.ts (optim, sam, engine, models) imports nothing from node:", () => {
  const files = closure(join(src, "index.ts"));
  assert.ok(files.some((f) => f.includes("/sam/fsam.ts")) && files.some((f) => f.includes("/optim/adam.ts")), "closure is incomplete");
  for (const f of files) assert.doesNotMatch(readFileSync(f, "utf8"), NODE_ONLY, `${f} imports a Node module`);
});

test("the scan follows value imports and skips type-only ones", () => {
  const files = closure(join(src, "index.ts"));
  assert.ok(files.some((f) => f.endsWith("/experiments/tasks.ts")), "follows index.ts → experiments/tasks.ts");
  assert.ok(!files.some((f) => f.endsWith("/train/trainer.ts")), "result.ts's `import type … trainer` is not followed");
});

test("the scan would catch a node: import", () => {
  assert.match('import { readFileSync } from "node:fs";', NODE_ONLY);
});
