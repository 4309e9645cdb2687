/**
 * The one check of an output directory, shared by every command that writes one (train,
 * compare, sweep, rho-finder, reproduce, diag-net; report's DIR): run after the flags and specs
 * are validated and before any data is loaded, so a bad `--out` costs nothing and says why in
 * one line (a `UsageError`: exit code 2).
 *
 * `prepareOutDir` creates the directory if it is missing — one component at a time, with a
 * plain (non-recursive) mkdir per missing component, so the work is bounded by the path's
 * depth. (Node's `mkdirSync(…, { recursive: true })` loops forever on paths such as /proc/x,
 * where mkdir answers ENOENT under a parent that exists.) Then it proves the directory writable
 * by creating and removing a probe file in it: `access(W_OK)` says yes to root on read-only
 * places such as /proc and /sys.
 */
import { closeSync, lstatSync, mkdirSync, openSync, rmSync, statSync, type Stats } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { UsageError } from "./args.js";

/** Paths longer than this are refused before the file system is asked (Linux's PATH_MAX is 4096). */
const MAX_PATH = 4096;

/** A short, one-line rendering of a user's path for messages. */
export function showPath(p: string): string {
  const s = JSON.stringify(p.length > 200 ? `${p.slice(0, 197)}…` : p);
  // Plain paths bare, anything with quotes, control characters or spaces quoted.
  return /^[\w./@:+,=~%-]+$/u.test(p) && p.length <= 200 ? p : s;
}

const REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  ENAMETOOLONG: "a name in the path is too long",
  ENOENT: "the file system does not allow a directory there",
  ENOTDIR: "a component of the path is not a directory",
  ELOOP: "too many symbolic links",
  EIO: "input/output error",
  EEXIST: "a file of that name appeared",
};

const reason = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException)?.code;
  return (code && REASONS[code]) ?? (code ? code : String((e as Error)?.message ?? e).split("\n")[0]);
};

function statOrNull(p: string, link = false): Stats | null {
  try {
    return link ? lstatSync(p) : statSync(p);
  } catch {
    return null;
  }
}

/** Basic shape of a path given for `flag` (empty, NUL bytes, too long): a UsageError, or the absolute path. */
export function checkPathText(given: string, flag: string): string {
  if (given.trim() === "") throw new UsageError(`${flag} needs a directory path (got ${JSON.stringify(given)})`);
  if (given.includes("\0")) throw new UsageError(`${flag} ${showPath(given)}: a path cannot contain a NUL character`);
  const abs = resolve(given);
  if (Buffer.byteLength(abs) > MAX_PATH) throw new UsageError(`${flag} ${showPath(given)}: the path is longer than ${MAX_PATH} bytes`);
  return abs;
}

/**
 * Make sure `given` (the value of `flag`) is a writable directory, creating it (and missing
 * parents) if needed. Returns its absolute path. Throws a one-line UsageError naming the path
 * and the problem: a file where the directory should be, a broken symbolic link, a parent that
 * is a file, a place where directories cannot be made, no permission, a read-only file system.
 */
export function prepareOutDir(given: string, flag = "--out"): string {
  const dir = checkPathText(given, flag);
  const shown = `${flag} ${showPath(given)}`;
  // The missing components, deepest first; bounded by the path's depth.
  const missing: string[] = [];
  let cur = dir;
  for (let guard = 0; guard < 4096; guard++) {
    const st = statOrNull(cur);
    if (st) {
      if (!st.isDirectory()) {
        throw new UsageError(cur === dir ? `${shown}: exists and is a file, not a directory` : `${shown}: ${showPath(cur)} is a file, not a directory`);
      }
      break;
    }
    if (statOrNull(cur, true)) throw new UsageError(`${shown}: ${showPath(cur)} is a broken symbolic link`);
    missing.push(cur);
    const up = dirname(cur);
    if (up === cur) throw new UsageError(`${shown}: no part of the path exists`);
    cur = up;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST" && statOrNull(d)?.isDirectory()) continue;
      throw new UsageError(`${shown}: cannot create the directory ${showPath(d)} (${reason(e)})`);
    }
  }
  checkWritable(dir, shown);
  return dir;
}

/** An existing directory that must be writable (report's DIR, `train --resume DIR`). */
export function checkWritableDir(given: string, flag: string): string {
  const dir = checkPathText(given, flag);
  const shown = `${flag} ${showPath(given)}`;
  const st = statOrNull(dir);
  if (!st) throw new UsageError(`${shown}: no such directory`);
  if (!st.isDirectory()) throw new UsageError(`${shown}: is a file, not a directory`);
  checkWritable(dir, shown);
  return dir;
}

function checkWritable(dir: string, shown: string): void {
  const probe = `${dir}${dir.endsWith(sep) ? "" : sep}.sharpness-write-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    closeSync(openSync(probe, "wx"));
  } catch (e) {
    throw new UsageError(`${shown}: the directory is not writable (${reason(e)})`);
  }
  rmSync(probe, { force: true });
}
