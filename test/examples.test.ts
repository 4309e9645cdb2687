import { test } from "node:test";
import assert from "node:assert/strict";
import { quickstart } from "../examples/quickstart.js";

test("README library quick start runs and its loss goes down", async () => {
  const losses = await quickstart(60);
  assert.ok(losses[59] < 0.05 * losses[0], `loss ${losses[0]} → ${losses[59]}`);
});
