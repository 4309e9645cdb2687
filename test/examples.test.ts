import { test } from "node:test";
import assert from "node:assert/strict";
import { quickstart } from "../examples/quickstart.js";

test("README library quick start runs and its loss goes down", async () => {
  const losses = await quickstart(60);
  assert.ok(losses[59] < 0.05 * losses[0], `loss ${losses[0]} → ${losses[59]}`);
});

test("the package's bin (`npx sharpness`) is built executable, with a node shebang", async () => {
  const { readFileSync, statSync } = await import("node:fs");
  const { dirname, join } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const bin = join(root, pkg.bin.sharpness);
  assert.ok(statSync(bin).mode & 0o100, `${pkg.bin.sharpness} is not executable (npm run build sets it)`);
  assert.match(readFileSync(bin, "utf8"), /^#!\/usr\/bin\/env node\n/);
});
