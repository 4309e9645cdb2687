/**
 * Global types that @jax-js/jax's declarations name but a TypeScript project without the "dom"
 * lib (a Node.js project) lacks: `GPUDevice` and `GPUBuffer`. With `skipLibCheck: false` they are
 * errors in node_modules/@jax-js/jax (TS2304, TS2552). dist/index.d.ts and dist/node.d.ts
 * reference this file (src/index.ts, src/node.ts: `preserve="true"` keeps the directive in the
 * emitted declarations), so consumers need no setting for them.
 *
 * They are empty interfaces: they merge with the full WebGPU declarations where a project has
 * them (the "dom" lib since TypeScript 6, or @webgpu/types) and are opaque where it does not.
 * Referencing @webgpu/types instead redeclares 59 type aliases of TypeScript 6-7's "dom" lib,
 * and without "dom" it needs DOM event types itself.
 *
 * Not here: `Float16Array` (ES2025), which the engine's `DataArray` names. Declaring it (`/// <reference
 * lib="esnext.float16" />`) makes `DataArray` precise in this repository's own build, where
 * np.array(Float32Array<ArrayBufferLike>) calls in src/data/batches.ts, src/sharpness/
 * from-checkpoint.ts and src/train/trainer.ts do not type-check yet. Until they do, a consumer
 * whose `lib` is below ES2025 adds "ESNext.Float16" to `lib` (README, "TypeScript").
 */

interface GPUDevice {}
interface GPUBuffer {}
