/**
 * `sharpness diag-net`: the diagonal linear network of Andriushchenko & Flammarion 2022 (002
 * §4.2, App. B) trained with full-batch ERM, n-SAM or 1-SAM on the paper's synthetic sparse
 * regression problem (--seed) or on bring-your-own data (--data FILE), optionally switching
 * method after the first phase (--then; Fig. 15). Writes DIR/result.json atomically and prints
 * one summary line. Bad input: UsageError/DataError (one line, exit 2, from run.ts main).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DataError } from "../data/errors.js";
import { parseRegressionData, sparseRegression, type RegressionProblem } from "../data/sparse-regression.js";
import { DIAG_NET_METHODS, trainDiagNet, type DiagNetMethod, type DiagNetPhase } from "../models/diagonal-net.js";
import { writeFileAtomic } from "../sweep/store.js";
import { UsageError, helpText, parseFlags, type FlagSpec } from "./args.js";
import { readJsonFile } from "./run.js";
import { checkPathText, prepareOutDir, showPath } from "./out-dir.js";
import { DRY_RUN_FLAG } from "./sweep.js";

export const DIAG_NET_FORMAT = "sharpness-aware-diag-net/1";

export const FLAGS: Record<string, FlagSpec> = {
  data: { kind: "string", help: "a JSON file { X: [[…]], y, Xtest: [[…]], ytest, betaStar? } (or --seed)" },
  seed: { kind: "int", help: "the paper's synthetic problem of this seed (or --data)" },
  n: { kind: "int", help: "with --seed: training examples (default 20)" },
  "n-test": { kind: "int", help: "with --seed: test examples (default 1000)" },
  d: { kind: "int", help: "with --seed: dimension (default 30)" },
  k: { kind: "int", help: "with --seed: nonzeros of β* (default 3)" },
  method: { kind: "string", choices: DIAG_NET_METHODS, help: "update rule (required)" },
  rho: { kind: "number", help: "SAM radius ρ ≥ 0 (default 0, which is ERM)" },
  lr: { kind: "number", help: "step size γ > 0 (default 15/d, as in the paper's Fig. 14)" },
  steps: { kind: "int", help: "steps of the first phase (default 10000)" },
  alpha: { kind: "number", help: "initialization scale α > 0: u = 2α, v = 0 (default 0.05)" },
  then: { kind: "string", choices: DIAG_NET_METHODS, help: "switch to this method after --steps (Fig. 15)" },
  "then-rho": { kind: "number", help: "ρ after the switch (default 0; only with --then)" },
  "then-steps": { kind: "int", help: "steps after the switch (default --steps; only with --then)" },
  "curve-points": { kind: "int", help: "about this many log-spaced loss points (default 80)" },
  out: { kind: "string", help: "output directory: result.json (required)" },
  ...DRY_RUN_FLAG,
  help: { kind: "bool", help: "show this help" },
};

/** Sizes the synthetic problem and a run may have (as the diag-net task's, experiments/tasks.ts), and the most numbers one matrix may hold. */
const LIMITS = { n: 10_000, "n-test": 1_000_000, d: 10_000, k: 10_000, steps: 10_000_000, "curve-points": 10_000 } as const;
const MAX_MATRIX = 10_000_000;

const SUMMARY = `Train the diagonal linear network β = u ⊙ v of Andriushchenko & Flammarion 2022 (§4.2, App. B)
with full-batch ERM, n-SAM or 1-SAM (the authors' update rules; 1-SAM's ascent uses 2ρ, as in
their code) on the loss ‖Xβ − y‖²/(2n), exactly in float64. Data: --seed S draws the paper's
problem (x ~ N(0, I_d), β* ≥ 0 with k nonzeros and ‖β*‖ = 1, y = ⟨x, β*⟩; by default n 20,
d 30, k 3, 1000 test points; the paper's distribution, not numpy's numbers), --data FILE reads
your own. --then M switches to method M after
--steps from the reached (u, v), with the same γ. Writes DIR/result.json (spec, final train/test
loss, ‖β‖₁, ‖β − β*‖, β, the loss curve) and prints one line. A run whose loss or parameters
become non-finite stops there, prints "diverged at step N", writes result.json with null losses
and exits 0.`;

function need(cond: boolean, message: string): void {
  if (!cond) throw new UsageError(message);
}

function fmt(x: number | null): string {
  return x === null ? "-" : x === 0 ? "0" : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toPrecision(4) : x.toExponential(3);
}

export type DiagNetPlan =
  | { kind: "help" }
  | { kind: "diag-net"; problem: RegressionProblem; alpha: number; lr: number; phases: DiagNetPhase[]; curvePoints: number; spec: Record<string, unknown>; outGiven: string; out: string; dryRun: boolean };

/** Parse and check `sharpness diag-net` arguments (reading --data FILE, drawing the --seed problem); writes nothing. */
export function planDiagNet(argv: string[]): DiagNetPlan {
  const f = parseFlags(argv, FLAGS, "diag-net");
  if (f.help) return { kind: "help" };
  need(f.method !== undefined, "diag-net: --method erm|n-sam|1-sam is required");
  need(f.out !== undefined, "diag-net: --out DIR is required");
  const outGiven = String(f.out);
  const out = checkPathText(outGiven, "--out");
  need((f.data === undefined) !== (f.seed === undefined), f.data === undefined ? "diag-net: give --seed S (the paper's synthetic problem) or --data FILE" : "diag-net: give either --data FILE or --seed S, not both");
  for (const name of ["n", "n-test", "d", "k"]) need(f[name] === undefined || f.seed !== undefined, `diag-net: --${name} only applies to the synthetic problem (--seed), not to --data`);
  for (const name of ["then-rho", "then-steps"]) need(f[name] === undefined || f.then !== undefined, `diag-net: --${name} needs --then erm|n-sam|1-sam`);

  const method = f.method as DiagNetMethod;
  const rho = (f.rho as number | undefined) ?? 0;
  need(rho >= 0, `--rho must be a finite number ≥ 0 (got ${rho})`);
  need(!(method === "erm" && rho !== 0), `--rho has no effect with --method erm (got ${rho}; use n-sam or 1-sam)`);
  const steps = (f.steps as number | undefined) ?? 10000;
  need(steps >= 0 && steps <= LIMITS.steps, `--steps must be an integer in [0, ${LIMITS.steps}] (got ${steps})`);
  const alpha = (f.alpha as number | undefined) ?? 0.05;
  need(alpha > 0, `--alpha must be a finite number > 0 (got ${alpha})`);
  const curvePoints = (f["curve-points"] as number | undefined) ?? 80;
  need(curvePoints >= 2 && curvePoints <= LIMITS["curve-points"], `--curve-points must be an integer in [2, ${LIMITS["curve-points"]}] (got ${curvePoints})`);
  const phases: DiagNetPhase[] = [{ method, rho, steps }];
  if (f.then !== undefined) {
    const thenMethod = f.then as DiagNetMethod;
    const thenRho = (f["then-rho"] as number | undefined) ?? 0;
    need(thenRho >= 0, `--then-rho must be a finite number ≥ 0 (got ${thenRho})`);
    need(!(thenMethod === "erm" && thenRho !== 0), `--then-rho has no effect with --then erm (got ${thenRho}; use n-sam or 1-sam)`);
    const thenSteps = (f["then-steps"] as number | undefined) ?? steps;
    need(thenSteps >= 0 && thenSteps <= LIMITS.steps, `--then-steps must be an integer in [0, ${LIMITS.steps}] (got ${thenSteps})`);
    phases.push({ method: thenMethod, rho: thenRho, steps: thenSteps });
  }

  let problem: RegressionProblem;
  let data: Record<string, unknown>;
  if (f.seed !== undefined) {
    const seed = f.seed as number;
    need(seed >= 0 && seed <= 0xffffffff, `--seed must be an integer in [0, 4294967295] (got ${seed})`);
    const opts = { n: (f.n as number | undefined) ?? 20, nTest: (f["n-test"] as number | undefined) ?? 1000, d: (f.d as number | undefined) ?? 30, k: (f.k as number | undefined) ?? 3, seed };
    for (const [flag, v] of [["n", opts.n], ["n-test", opts.nTest], ["d", opts.d], ["k", opts.k]] as const) need(v >= 1 && v <= LIMITS[flag], `--${flag} must be an integer in [1, ${LIMITS[flag]}] (got ${v})`);
    need(opts.k <= opts.d, `--k must be an integer in [1, --d = ${opts.d}] (got ${opts.k})`);
    for (const [flag, rows] of [["n", opts.n], ["n-test", opts.nTest]] as const) need(rows * opts.d <= MAX_MATRIX, `--${flag} × --d must be at most ${MAX_MATRIX} numbers (got ${rows} × ${opts.d})`);
    problem = sparseRegression(opts);
    data = { kind: "synthetic", ...opts };
  } else {
    const file = resolve(String(f.data));
    const json = readJsonFile(file, "--data");
    try {
      problem = parseRegressionData(json);
    } catch (e) {
      if (e instanceof DataError) throw new DataError(`--data ${showPath(file)}: ${e.message}`);
      throw e;
    }
    data = { kind: "file", file, sha256: createHash("sha256").update(readFileSync(file)).digest("hex"), n: problem.n, nTest: problem.nTest, d: problem.d };
  }

  const lr = (f.lr as number | undefined) ?? 15 / problem.d;
  need(lr > 0, `--lr must be a finite number > 0 (got ${lr})`);
  const spec = { model: "diagonal-linear-net", alpha, lr, phases, curvePoints, data };
  return { kind: "diag-net", problem, alpha, lr, phases, curvePoints, spec, outGiven, out, dryRun: !!f["dry-run"] };
}

export async function diagNetCommand(argv: string[]): Promise<number> {
  const plan = planDiagNet(argv);
  if (plan.kind === "help") {
    process.stdout.write(helpText("Usage: sharpness diag-net (--seed S | --data FILE) --method erm|n-sam|1-sam [--rho R] [--then M --then-rho R2] --out DIR", SUMMARY, FLAGS));
    return 0;
  }
  const { problem, alpha, lr, phases, curvePoints, spec } = plan;
  // The output directory before the run (one line, exit 2, when it cannot be used).
  const out = prepareOutDir(plan.outGiven, "--out");
  const label = phases.map((p) => (p.method === "erm" ? "erm" : `${p.method} ρ ${p.rho}`) + ` ×${p.steps}`).join(" → ");
  const head = `diag-net ${label} (γ ${fmt(lr)}, α ${alpha}, n ${problem.n}, d ${problem.d})`;
  if (plan.dryRun) {
    process.stdout.write(`dry run: ${head} → ${join(out, "result.json")}\n`);
    return 0;
  }

  const t0 = performance.now();
  const run = trainDiagNet(problem, { alpha, lr, phases, curvePoints });
  const seconds = (performance.now() - t0) / 1000;

  const path = join(out, "result.json");
  const result = {
    format: DIAG_NET_FORMAT,
    spec,
    trainLoss: run.trainLoss,
    testLoss: run.testLoss,
    l1Norm: run.l1Norm,
    recoveryError: run.recoveryError,
    diverged: run.diverged,
    steps: run.steps,
    phaseEnds: run.phaseEnds,
    curve: run.curve,
    beta: run.beta,
    seconds,
  };
  writeFileAtomic(path, JSON.stringify(result, null, 1) + "\n");

  const body = run.diverged
    ? `diverged at step ${run.steps}`
    : `train loss ${fmt(run.trainLoss)}, test loss ${fmt(run.testLoss)}, ‖β‖₁ ${fmt(run.l1Norm)}${run.recoveryError === null ? "" : `, ‖β − β*‖ ${fmt(run.recoveryError)}`}, not diverged`;
  process.stdout.write(`${head}: ${body} → ${path}\n`);
  return 0;
}

export { FLAGS as DIAG_NET_FLAGS };
