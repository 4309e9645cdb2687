/**
 * An independent float64 reference, written in plain JS numbers: the tiny MLP of fixtures.ts
 * with hand-written backprop, PyTorch's SGD / Adam / AdamW update rules (torch.optim source
 * semantics, dampening 0) and the step logic of the official SAM-family code:
 * davda54/sam `SAM.first_step/second_step`, SamsungLabs/ASAM `ASAM.ascent_step`, and
 * nblt/F-SAM `FriendlySAM.first_step`. m-SAM averages the perturbed gradients of the
 * sub-batches (002 eq. 3-4). It shares no code with src/.
 */
import { DIMS, type TinyData } from "../fixtures.js";

export type P = { w1: number[]; b1: number[]; w2: number[]; b2: number[] };
const KEYS = ["w1", "b1", "w2", "b2"] as const;
type Batch = { x: number[][]; y: number[] };

export function fromData(d: TinyData): P {
  return { w1: d.w1.flat(), b1: [...d.b1], w2: d.w2.flat(), b2: [...d.b2] };
}

const mapP = (f: (k: (typeof KEYS)[number], i: number) => number, like: P): P =>
  Object.fromEntries(KEYS.map((k) => [k, like[k].map((_, i) => f(k, i))])) as P;

/** Loss and gradient of mean softmax cross-entropy. */
export function lossGrad(p: P, b: Batch): [number, P] {
  const { in: I, hidden: H, out: O } = DIMS;
  const B = b.x.length;
  const g: P = { w1: new Array(I * H).fill(0), b1: new Array(H).fill(0), w2: new Array(H * O).fill(0), b2: new Array(O).fill(0) };
  let loss = 0;
  for (let n = 0; n < B; n++) {
    const x = b.x[n];
    const h = Array.from({ length: H }, (_, j) => Math.tanh(x.reduce((s, xi, i) => s + xi * p.w1[i * H + j], p.b1[j])));
    const z = Array.from({ length: O }, (_, k) => h.reduce((s, hj, j) => s + hj * p.w2[j * O + k], p.b2[k]));
    const mx = Math.max(...z);
    const lse = mx + Math.log(z.reduce((s, v) => s + Math.exp(v - mx), 0));
    loss += (lse - z[b.y[n]]) / B;
    const dz = z.map((v, k) => (Math.exp(v - lse) - (k === b.y[n] ? 1 : 0)) / B);
    for (let k = 0; k < O; k++) {
      g.b2[k] += dz[k];
      for (let j = 0; j < H; j++) g.w2[j * O + k] += h[j] * dz[k];
    }
    for (let j = 0; j < H; j++) {
      let dh = 0;
      for (let k = 0; k < O; k++) dh += dz[k] * p.w2[j * O + k];
      const da = dh * (1 - h[j] * h[j]);
      g.b1[j] += da;
      for (let i = 0; i < I; i++) g.w1[i * H + j] += x[i] * da;
    }
  }
  return [loss, g];
}

export interface TorchOptimizer {
  /** In-place step with gradient g at parameters p (PyTorch: p.grad, p.data). */
  step(p: P, g: P): void;
}

export function torchSGD(lr: number, momentum = 0, weightDecay = 0, nesterov = false): TorchOptimizer {
  let buf: P | null = null;
  return {
    step(p, g) {
      const d = mapP((k, i) => g[k][i] + weightDecay * p[k][i], p);
      let dir = d;
      if (momentum !== 0) {
        buf = buf === null ? mapP((k, i) => d[k][i], d) : mapP((k, i) => momentum * buf![k][i] + d[k][i], d);
        dir = nesterov ? mapP((k, i) => d[k][i] + momentum * buf![k][i], d) : buf;
      }
      for (const k of KEYS) for (let i = 0; i < p[k].length; i++) p[k][i] -= lr * dir[k][i];
    },
  };
}

export function torchAdam(lr: number, weightDecay = 0, decoupled = false, b1 = 0.9, b2 = 0.999, eps = 1e-8): TorchOptimizer {
  let t = 0;
  let m: P | null = null;
  let v: P | null = null;
  return {
    step(p, g0) {
      t++;
      let g = g0;
      if (decoupled) for (const k of KEYS) for (let i = 0; i < p[k].length; i++) p[k][i] *= 1 - lr * weightDecay;
      else g = mapP((k, i) => g0[k][i] + weightDecay * p[k][i], p);
      m = mapP((k, i) => b1 * (m ? m[k][i] : 0) + (1 - b1) * g[k][i], p);
      v = mapP((k, i) => b2 * (v ? v[k][i] : 0) + (1 - b2) * g[k][i] * g[k][i], p);
      const bc1 = 1 - Math.pow(b1, t);
      const bc2 = 1 - Math.pow(b2, t);
      for (const k of KEYS)
        for (let i = 0; i < p[k].length; i++) p[k][i] -= (lr / bc1) * (m[k][i] / (Math.sqrt(v[k][i]) / Math.sqrt(bc2) + eps));
    },
  };
}

const norm = (q: P) => Math.sqrt(KEYS.reduce((s, k) => s + q[k].reduce((t, v) => t + v * v, 0), 0));

/** Perturbation rule of one official code base, applied to gradient g at p. */
export type Ascent = (p: P, g: P) => P;

/** davda54/sam first_step: e = ρ g/(‖g‖+1e-12); unnormalized: e = ρ g. */
export const samAscent = (rho: number, normalize = true): Ascent => (_p, g) => {
  const s = normalize ? rho / (norm(g) + 1e-12) : rho;
  return mapP((k, i) => g[k][i] * s, g);
};

/** SamsungLabs/ASAM ascent_step with T = |w| + η on every leaf. */
export const asamAscent = (rho: number, eta: number): Ascent => (p, g) => {
  const tg = mapP((k, i) => (Math.abs(p[k][i]) + eta) * g[k][i], p);
  const n = norm(tg) + 1e-16;
  return mapP((k, i) => (Math.abs(p[k][i]) + eta) * tg[k][i] * (rho / n), p);
};

/** nblt/F-SAM FriendlySAM.first_step (stateful: momentum). */
export function fsamAscent(rho: number, sigma: number, lambda: number): Ascent {
  let mom: P | null = null;
  return (_p, g) => {
    let d = g;
    if (mom === null) mom = mapP((k, i) => g[k][i], g);
    else {
      d = mapP((k, i) => g[k][i] - sigma * mom![k][i], g);
      mom = mapP((k, i) => mom![k][i] * lambda + g[k][i] * (1 - lambda), g);
    }
    const s = rho / (norm(d) + 1e-12);
    return mapP((k, i) => d[k][i] * s, d);
  };
}

/**
 * Run `steps` steps from `init`: a plain base-optimizer run when `ascent` is null, else the
 * two-pass step (m-SAM when `m` < batch). Returns the parameters after each step.
 */
export function trajectory(init: P, batches: Batch[], opt: TorchOptimizer, ascent: Ascent | null, m?: number): P[] {
  const p = mapP((k, i) => init[k][i], init);
  const out: P[] = [];
  for (const b of batches) {
    let g: P;
    if (!ascent) g = lossGrad(p, b)[1];
    else {
      const size = m ?? b.x.length;
      const parts = b.x.length / size;
      g = mapP(() => 0, p);
      for (let j = 0; j < parts; j++) {
        const sub = { x: b.x.slice(j * size, (j + 1) * size), y: b.y.slice(j * size, (j + 1) * size) };
        const e = ascent(p, lossGrad(p, sub)[1]);
        const pe = mapP((k, i) => p[k][i] + e[k][i], p);
        const gs = lossGrad(pe, sub)[1];
        g = mapP((k, i) => g[k][i] + gs[k][i] / parts, g);
      }
    }
    opt.step(p, g);
    out.push(mapP((k, i) => p[k][i], p));
  }
  return out;
}
