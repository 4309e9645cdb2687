/**
 * Tests that need a system program (redis-server, chromium): skipped with a message naming the
 * Debian package when it is missing, except where REQUIRE_SYSTEM_DEPS=1 (CI installs them):
 * there a missing program throws, so the test file fails instead of passing silently.
 *
 * @example
 * const redis = requireBinary("redis-server", "redis-server");
 * test("…", { skip: redis.skip }, async () => { … });
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** The program's path on PATH, or null. */
export function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

export function requireBinary(name: string, debPackage: string): { available: boolean; skip: string | false } {
  if (which(name)) return { available: true, skip: false };
  const message = `${name} not found: apt-get install ${debPackage}`;
  if (process.env.REQUIRE_SYSTEM_DEPS === "1") throw new Error(`${message} (REQUIRE_SYSTEM_DEPS=1: the tests that need it must run)`);
  return { available: false, skip: message };
}
