/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a
 * JSON header `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {…} }`
 * padded with spaces to 8 bytes, then the raw little-endian tensor bytes. Browser-safe.
 */

/**
 * One tensor on the host: a jax-js dtype name (`float32`, `float64`, `int32`, `uint32`,
 * `float16` — its raw bits in a `Uint16Array` — or `bool` as bytes), its shape, and its
 * little-endian element data (`shape`'s product elements).
 *
 * @example
 * ```ts
 * const t: TensorData = { dtype: "float32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
 * ```
 */
export type TensorData = {
  /** jax-js dtype name. */
  dtype: string;
  /** The shape. */
  shape: number[];
  /** The elements, little-endian. */
  data: ArrayBufferView;
};

const TO_ST: Record<string, string> = { float32: "F32", float64: "F64", int32: "I32", uint32: "U32", float16: "F16", bool: "BOOL" };
const FROM_ST: Record<string, string> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k]));
const WIDTH: Record<string, number> = { F32: 4, F64: 8, I32: 4, U32: 4, F16: 2, BOOL: 1 };

/**
 * Thrown by {@link encodeSafetensors} / {@link decodeSafetensors} on a malformed file or tensor; the message names the tensor.
 *
 * @example
 * ```ts
 * try { decodeSafetensors(bytes); } catch (e) { if (e instanceof SafetensorsError) console.error(e.message); }
 * ```
 */
export class SafetensorsError extends Error {
  /** Always "SafetensorsError". */
  override name = "SafetensorsError";
}

/**
 * Encode named tensors (jax-js dtype names: float32, float64, int32, uint32, float16, bool) and
 * optional string metadata as one safetensors file. Reads `tensors` without changing them; the
 * result is a new buffer. Throws {@link SafetensorsError} on an unsupported dtype or a data
 * length that does not match the shape.
 *
 * @example
 * ```ts
 * const bytes = encodeSafetensors({ w: { dtype: "float32", shape: [2], data: new Float32Array([1, 2]) } }, { step: "10" });
 * decodeSafetensors(bytes).tensors.w.shape; // [2]
 * ```
 */
export function encodeSafetensors(tensors: Record<string, TensorData>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const st = TO_ST[t.dtype];
    if (!st) throw new SafetensorsError(`safetensors: tensor ${JSON.stringify(name)} has unsupported dtype ${t.dtype}`);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (bytes.byteLength !== n * WIDTH[st]) throw new SafetensorsError(`safetensors: tensor ${JSON.stringify(name)} holds ${bytes.byteLength} bytes, shape [${t.shape}] needs ${n * WIDTH[st]}`);
    header[name] = { dtype: st, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + json.length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Decode a safetensors buffer into tensors (each an aligned copy of its bytes, typed by dtype;
 * float16 as raw `Uint16Array` bits) and the `__metadata__` strings (`{}` when absent). Does not
 * keep a reference to `bytes`. Throws {@link SafetensorsError} on anything malformed.
 *
 * @example
 * ```ts
 * const { tensors, metadata } = decodeSafetensors(readFileSync("step-100.safetensors"));
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array): { tensors: Record<string, TensorData>; metadata: Record<string, string> } {
  if (bytes.byteLength < 8) throw new SafetensorsError("safetensors: file too short");
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > bytes.byteLength) throw new SafetensorsError(`safetensors: header length ${n} exceeds the file`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new SafetensorsError("safetensors: header is not valid JSON");
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw new SafetensorsError("safetensors: header is not a JSON object");
  const base = 8 + n;
  const tensors: Record<string, TensorData> = {};
  for (const [name, h] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    // Own keys only (a dtype "constructor" is not a dtype); offsets and shape must be arrays of integers.
    const dtype = typeof h?.dtype === "string" && Object.hasOwn(FROM_ST, h.dtype) ? FROM_ST[h.dtype] : undefined;
    const offsets = h?.data_offsets;
    const ints = (a: unknown, len?: number) => Array.isArray(a) && (len === undefined || a.length === len) && a.every((x) => Number.isSafeInteger(x) && x >= 0);
    if (!dtype || !ints(h.shape) || !ints(offsets, 2)) throw new SafetensorsError(`safetensors: bad entry for ${JSON.stringify(name)}`);
    const [b, e] = offsets as [number, number];
    if (!(e >= b && base + e <= bytes.byteLength)) throw new SafetensorsError(`safetensors: bad entry for ${JSON.stringify(name)}`);
    const count = (h.shape as number[]).reduce((x, y) => x * y, 1);
    if ((e - b) !== count * WIDTH[h.dtype]) throw new SafetensorsError(`safetensors: ${JSON.stringify(name)} has ${e - b} bytes for shape [${h.shape}]`);
    const copy = bytes.slice(base + b, base + e); // aligned copy
    const buf = copy.buffer;
    const data =
      dtype === "float32" ? new Float32Array(buf) : dtype === "float64" ? new Float64Array(buf) : dtype === "int32" ? new Int32Array(buf) : dtype === "uint32" ? new Uint32Array(buf) : dtype === "float16" ? new Uint16Array(buf) : new Uint8Array(buf);
    tensors[name] = { dtype, shape: h.shape, data };
  }
  return { tensors, metadata: header.__metadata__ ?? {} };
}
