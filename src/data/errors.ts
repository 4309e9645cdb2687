/** A problem with input data: one line naming the file or value and what to do. */
export class DataError extends Error {
  override name = "DataError";
}
