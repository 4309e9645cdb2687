/** The synthetic sparse regression problem of 002 App. B and the bring-your-own JSON parser. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRegressionData, sparseRegression } from "../../src/data/sparse-regression.js";
import { DataError } from "../../src/data/errors.js";

test("sparseRegression: the paper's shapes by default, seeded, independent streams", () => {
  const a = sparseRegression();
  assert.deepEqual([a.n, a.nTest, a.d], [20, 1000, 30]);
  assert.deepEqual([a.X.length, a.y.length, a.Xtest.length, a.ytest.length, a.betaStar!.length], [600, 20, 30000, 1000, 30]);
  assert.deepEqual(sparseRegression({ seed: 0 }), a);
  const b = sparseRegression({ seed: 1 });
  assert.notDeepEqual(b.X, a.X);
  assert.notDeepEqual(b.Xtest, a.Xtest);
  assert.notDeepEqual(b.betaStar, a.betaStar);
  // the test rows are not the training rows
  assert.notDeepEqual(a.Xtest.subarray(0, 600), a.X);
  // more test points do not change the training set or β*
  const c = sparseRegression({ seed: 0, nTest: 10 });
  assert.deepEqual(c.X, a.X);
  assert.deepEqual(c.betaStar, a.betaStar);
  assert.deepEqual(c.Xtest, a.Xtest.subarray(0, 300));
});

test("sparseRegression: ‖β*‖₂ = 1 with exactly k nonnegative nonzeros first; y = Xβ*; x ~ N(0, 1)", () => {
  for (const [seed, k, d] of [[0, 3, 30], [1, 5, 100], [7, 1, 4], [3, 4, 4]]) {
    const p = sparseRegression({ seed, k, d, n: 40, nTest: 200 });
    const bs = p.betaStar!;
    assert.ok(Math.abs(Math.hypot(...bs) - 1) < 1e-15);
    for (let j = 0; j < d; j++) assert.ok(j < k ? bs[j] > 0 : bs[j] === 0, `β*[${j}] = ${bs[j]}`);
    for (const [X, y, rows] of [[p.X, p.y, p.n], [p.Xtest, p.ytest, p.nTest]] as const) {
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += X[r * d + j] * bs[j];
        assert.ok(Math.abs(s - y[r]) <= 1e-14, `row ${r}`);
      }
    }
  }
  // moments of the Gaussian features (30,000 test entries): mean ≈ 0, variance ≈ 1
  const x = sparseRegression({ seed: 4 }).Xtest;
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  assert.ok(Math.abs(mean) < 0.02 && Math.abs(variance - 1) < 0.03, `mean ${mean} variance ${variance}`);
  assert.throws(() => sparseRegression({ k: 31 }), /sparseRegression: k must be an integer in \[1, d = 30\] \(got 31\)/);
  assert.throws(() => sparseRegression({ n: 0 }), /sparseRegression: n must be an integer ≥ 1 \(got 0\)/);
  assert.throws(() => sparseRegression({ seed: -1 }), /seed must be an integer ≥ 0 \(got -1\)/);
});

const toJson = (p: ReturnType<typeof sparseRegression>) => {
  const rows = (a: Float64Array, n: number, d: number) => Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * d, (i + 1) * d)));
  return { X: rows(p.X, p.n, p.d), y: Array.from(p.y), Xtest: rows(p.Xtest, p.nTest, p.d), ytest: Array.from(p.ytest), betaStar: p.betaStar ? Array.from(p.betaStar) : undefined };
};

test("parseRegressionData: round trip through JSON text; betaStar optional", () => {
  const p = sparseRegression({ seed: 2, nTest: 50 });
  const back = parseRegressionData(JSON.parse(JSON.stringify(toJson(p))));
  assert.deepEqual(back, p);
  const { betaStar, ...rest } = toJson(p);
  void betaStar;
  assert.equal(parseRegressionData(rest).betaStar, null);
  const tiny = parseRegressionData({ X: [[1, 2]], y: [3], Xtest: [[4, 5], [6, 7]], ytest: [8, 9] });
  assert.deepEqual([tiny.n, tiny.d, tiny.nTest, Array.from(tiny.Xtest)], [1, 2, 2, [4, 5, 6, 7]]);
});

const good = () => ({ X: [[1, 2, 3], [4, 5, 6]] as unknown[], y: [1, 2] as unknown, Xtest: [[1, 1, 1]] as unknown[], ytest: [0] as unknown, betaStar: [0, 0, 1] as unknown });
const withField = (k: string, v: unknown) => ({ ...good(), [k]: v });

const bad: [string, unknown, RegExp][] = [
  ["not an object", [1, 2], /^the data must be a JSON object with fields X, y, Xtest, ytest and optionally betaStar \(got a list\)$/],
  ["null", null, /^the data must be a JSON object .*\(got null\)$/],
  ["unknown field", withField("foo", 1), /^unknown field "foo" \(fields: X, y, Xtest, ytest, betaStar\)$/],
  ["X missing", { y: [1], Xtest: [[1]], ytest: [1] }, /^X is required: a non-empty list of rows, each a list of finite numbers$/],
  ["X empty", withField("X", []), /^X must be a non-empty list of rows, each a list of finite numbers \(got \[\]\)$/],
  ["X not rows", withField("X", [1, 2]), /^X\[0\] must be a non-empty list of finite numbers \(got 1\)$/],
  ["X empty row", withField("X", [[]]), /^X\[0\] must be a non-empty list of finite numbers \(got \[\]\)$/],
  ["X ragged", withField("X", [[1, 2, 3], [4, 5]]), /^X\[1\] has 2 numbers, expected 3 \(the width of X\[0\]\)$/],
  ["X string", withField("X", [[1, 2, 3], [4, "5", 6]]), /^X\[1\]\[1\] must be a finite number \(got "5"\)$/],
  ["X overflow", withField("X", [[1, 2, 3], [4, 1e999, 6]]), /^X\[1\]\[1\] must be a finite number \(got Infinity\)$/],
  ["y missing", { X: [[1]], Xtest: [[1]], ytest: [1] }, /^y is required: a list of 1 finite numbers \(one per row of X\)$/],
  ["y too short", withField("y", [1]), /^y must be a list of 2 finite numbers \(one per row of X; got a list of 1\)$/],
  ["y a number", withField("y", 3), /^y must be a list of 2 finite numbers \(one per row of X; got 3\)$/],
  ["y null entry", withField("y", [1, null]), /^y\[1\] must be a finite number \(got null\)$/],
  ["Xtest missing", { X: [[1]], y: [1], ytest: [1] }, /^Xtest is required/],
  ["Xtest empty", withField("Xtest", []), /^Xtest must be a non-empty list of rows/],
  ["Xtest width", withField("Xtest", [[1, 1, 1], [1, 1]]), /^Xtest\[1\] has 2 numbers, expected 3 \(the width of X\)$/],
  ["Xtest first row width", withField("Xtest", [[1, 1, 1, 1]]), /^Xtest\[0\] has 4 numbers, expected 3 \(the width of X\)$/],
  ["ytest missing", { X: [[1]], y: [1], Xtest: [[1]] }, /^ytest is required: a list of 1 finite numbers \(one per row of Xtest\)$/],
  ["ytest length", withField("ytest", [0, 1]), /^ytest must be a list of 1 finite numbers \(one per row of Xtest; got a list of 2\)$/],
  ["betaStar length", withField("betaStar", [1, 2]), /^betaStar must be a list of 3 finite numbers \(one per column of X; got a list of 2\)$/],
  ["betaStar entry", withField("betaStar", [1, true, 0]), /^betaStar\[1\] must be a finite number \(got true\)$/],
];

for (const [name, json, message] of bad) {
  test(`parseRegressionData rejects ${name} with one line`, () => {
    assert.throws(
      () => parseRegressionData(json),
      (e: Error) => e instanceof DataError && message.test(e.message) && !e.message.includes("\n"),
      String(message),
    );
  });
}
