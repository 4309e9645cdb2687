/**
 * A problem with input data: one line naming the file or value and what to do.
 *
 * @example
 * ```ts
 * try { loadFashionMnist(); } catch (e) { if (e instanceof DataError) console.error(e.message); }
 * ```
 */
export class DataError extends Error {
  /** Always "DataError". */
  override name = "DataError";
}
