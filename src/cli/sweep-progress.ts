/**
 * What a sweep shows while it runs. On a terminal: one line per worker (run label, seed, epoch,
 * a bar, loss) and a last line with the sweep's count and ETA, redrawn in place at most 10
 * times a second. Not a terminal (CI, a log file): a line per finished or failed run only.
 */
import type { SweepEvent } from "../sweep/local.js";
import type { SlotProgress } from "../sweep/pool.js";

import { describeResult, isTaskResult } from "../experiments/tasks.js";

function duration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s - 60 * m)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export function sweepReporter({ queued = false, out = process.stderr, log = (s: string) => void process.stdout.write(s) }: { queued?: boolean; out?: NodeJS.WriteStream; log?: (s: string) => void } = {}): { onEvent: (e: SweepEvent) => void; close: () => void } {
  const tty = !!out.isTTY && !process.env.CI;
  const t0 = Date.now();
  const slots = new Map<number, { label: string; seed: number; p?: SlotProgress }>();
  let total = 0;
  let pending = 0;
  let finished = 0;
  let failed = 0;
  let drawn = 0;
  let last = 0;

  function frac(p?: SlotProgress): number {
    return p ? (p.epoch - 1 + p.step / p.steps) / p.epochs : 0;
  }

  function draw(force = false): void {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    const width = Math.max(40, (out.columns || 100) - 1);
    const lines: string[] = [];
    for (const [slot, s] of [...slots.entries()].sort((a, b) => a[0] - b[0])) {
      const f = frac(s.p);
      const filled = Math.round(f * 20);
      const tail = !s.p ? "starting" : Number.isNaN(s.p.loss) ? `step ${s.p.step}/${s.p.steps}` : `epoch ${s.p.epoch}/${s.p.epochs} loss ${s.p.loss.toFixed(3)}`;
      lines.push(`[${slot + 1}] ${s.label} s${s.seed} [${"#".repeat(filled)}${"-".repeat(20 - filled)}] ${tail}`.slice(0, width));
    }
    const running = [...slots.values()].reduce((a, s) => a + frac(s.p), 0);
    const doneWork = finished + running;
    const elapsed = (now - t0) / 1000;
    const eta = doneWork > 0 ? (elapsed / doneWork) * (pending - doneWork) : NaN;
    lines.push(`${finished}/${pending} runs done${failed ? `, ${failed} failed` : ""}, ${slots.size} running — ${duration(elapsed)} elapsed, ETA ${duration(eta)}`.slice(0, width));
    let s = drawn > 0 ? `\x1b[${drawn}F` : "";
    for (const l of lines) s += `\x1b[2K${l}\n`;
    for (let i = lines.length; i < drawn; i++) s += "\x1b[2K\n";
    if (drawn > lines.length) s += `\x1b[${drawn - lines.length}F`;
    out.write(s);
    drawn = lines.length;
  }

  function say(text: string): void {
    if (tty && drawn > 0) {
      out.write(`\x1b[${drawn}F\x1b[J`);
      drawn = 0;
    }
    log(text);
    draw(true);
  }

  return {
    onEvent(e) {
      switch (e.type) {
        case "start":
          total = e.total;
          pending = e.pending;
          log(`${total} runs: ${e.skipped} already done${e.failedBefore ? `, ${e.failedBefore} failed before (--retry-failed reruns them)` : ""}, ${e.pending} to run ${queued ? `on the queue (${e.jobs} worker slot${e.jobs === 1 ? "" : "s"} connected now)` : `on ${e.jobs} process${e.jobs === 1 ? "" : "es"}`}\n`);
          break;
        case "run-start":
          slots.set(e.slot, { label: e.run.label, seed: e.run.spec.seed });
          draw(true);
          break;
        case "progress": {
          const s = slots.get(e.slot);
          if (s) s.p = e.p;
          draw();
          break;
        }
        case "run-end": {
          slots.delete(e.slot);
          finished++;
          // Task runs (exact small models) take milliseconds to seconds: a line only for slow ones.
          if (isTaskResult(e.result) && e.result.seconds < 2) {
            draw();
            break;
          }
          say(`[${finished}/${pending}] ${e.run.label} seed ${e.run.spec.seed}: ${describeResult(e.result)}, ${e.result.seconds.toFixed(1)} s [${e.run.key}]\n`);
          break;
        }
        case "run-failed":
          slots.delete(e.slot);
          if (!e.retrying) failed++;
          say(`${e.retrying ? "retrying" : "FAILED"} ${e.run.label} seed ${e.run.spec.seed} [${e.run.key}]: ${e.error}\n`);
          break;
      }
    },
    close() {
      if (tty && drawn > 0) out.write(`\x1b[${drawn}F\x1b[J`);
      drawn = 0;
    },
  };
}
