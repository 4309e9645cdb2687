import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { threadsFor } from "../../src/engine/auto-threads.js";

const dir = mkdtempSync(join(tmpdir(), "auto-threads-"));
const specFile = (spec: unknown) => {
  const f = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, typeof spec === "string" ? spec : JSON.stringify(spec));
  return f;
};
const none = {};

// [argv, env, cores, expected on, expected auto]
const cases: [string, string[], Record<string, string>, number, boolean, boolean][] = [
  ["asked for", ["train", "--threads"], none, 2, true, false],
  ["asked for with =true", ["measure", "--threads=true"], none, 2, true, false],
  ["asked for by the environment", ["train"], { SHARPNESS_THREADS: "1" }, 1, true, false],
  ["refused", ["train", "--model", "cnn", "--threads=false"], none, 2, false, false],
  ["refused by the environment", ["train", "--model=cnn"], { SHARPNESS_THREADS: "0" }, 2, false, false],
  ["CNN train on 2 cores", ["train", "--model", "cnn"], none, 2, true, true],
  ["CNN train, --model=cnn", ["train", "--epochs", "1", "--model=cnn"], none, 4, true, true],
  ["CNN on one core", ["train", "--model", "cnn"], none, 1, false, false],
  ["CNN with m-sharpness", ["train", "--model", "cnn", "--m", "16"], none, 2, false, false],
  ["the MLP", ["train", "--model", "mlp"], none, 2, false, false],
  ["the default model", ["train"], none, 2, false, false],
  ["a CNN sweep (one process per core instead)", ["sweep", "--model", "cnn"], none, 2, false, false],
  ["CNN from a spec file", ["train", "--spec", specFile({ model: { name: "cnn" }, optimizer: { m: null } })], none, 2, true, true],
  ["CNN spec with m", ["train", "--spec", specFile({ model: { name: "cnn" }, optimizer: { m: 16 } })], none, 2, false, false],
  ["MLP spec, --model cnn overrides", ["train", "--spec", specFile({ model: { name: "mlp" } }), "--model", "cnn"], none, 2, true, true],
  ["an unreadable spec file", ["train", "--spec", specFile("{not json")], none, 2, false, false],
  ["a missing spec file", ["train", "--spec", join(dir, "missing.json"), "--model", "cnn"], none, 2, false, false],
];
for (const [name, argv, env, cores, on, auto] of cases) {
  test(`threadsFor: ${name}`, () => {
    assert.deepEqual(threadsFor(argv, env, cores), { on, auto });
  });
}
