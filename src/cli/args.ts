/**
 * Flag parsing for the `sharpness` CLI: `--name value`, `--name=value`, boolean switches.
 * Every problem is a `UsageError` with a one-line message (exit code 2).
 */
export class UsageError extends Error {
  override name = "UsageError";
}

export type FlagKind = "number" | "int" | "string" | "bool" | "list";
export type FlagSpec = { kind: FlagKind; help: string; choices?: readonly string[] };

/** Flags only: any other argument is a `UsageError`. */
export function parseFlags(argv: string[], specs: Record<string, FlagSpec>, command: string): Record<string, unknown> {
  const { flags, positional } = parseArgs(argv, specs, command);
  if (positional.length) throw new UsageError(`${command}: unexpected argument ${JSON.stringify(positional[0])} (flags look like --name value; see --help)`);
  return flags;
}

/**
 * Flags and the positional arguments between them (`sharpness reproduce ID… --out DIR`,
 * `sharpness interpolate A B --out F`): a value that follows a non-boolean flag is that flag's.
 */
export function parseArgs(argv: string[], specs: Record<string, FlagSpec>, command: string): { flags: Record<string, unknown>; positional: string[] } {
  const out: Record<string, unknown> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--") || arg === "--") {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec) throw new UsageError(`${command}: unknown flag --${name} (see sharpness ${command} --help)`);
    if (spec.kind === "bool") {
      if (eq >= 0) {
        const v = arg.slice(eq + 1);
        if (v !== "true" && v !== "false") throw new UsageError(`--${name} takes no value or true/false (got ${JSON.stringify(v)})`);
        out[name] = v === "true";
      } else out[name] = true;
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      raw = argv[++i];
    }
    if (spec.kind === "number" || spec.kind === "int") {
      const v = raw.trim() === "" ? NaN : Number(raw);
      if (!Number.isFinite(v)) throw new UsageError(`--${name} must be a number (got ${JSON.stringify(raw)})`);
      if (spec.kind === "int" && !Number.isInteger(v)) throw new UsageError(`--${name} must be an integer (got ${JSON.stringify(raw)})`);
      out[name] = v;
    } else if (spec.kind === "list") {
      const items = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
      if (items.length === 0) throw new UsageError(`--${name} needs a comma-separated list (got ${JSON.stringify(raw)})`);
      out[name] = items;
    } else {
      if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`--${name} must be one of ${spec.choices.join(", ")} (got ${JSON.stringify(raw)})`);
      out[name] = raw;
    }
  }
  return { flags: out, positional };
}

export function helpText(usage: string, summary: string, specs: Record<string, FlagSpec>): string {
  const rows = Object.entries(specs).map(([k, s]) => {
    const left = `  --${k}${s.kind === "bool" ? "" : " " + (s.choices ? s.choices.join("|") : s.kind === "list" ? "a,b,…" : s.kind === "string" ? "VALUE" : "N")}`;
    // A long choice list gets its help on the next line (it ran into the help text).
    return left.length < 33 ? left.padEnd(34) + s.help : `${left}\n${" ".repeat(34)}${s.help}`;
  });
  return `${usage}\n\n${summary}\n\nFlags:\n${rows.join("\n")}\n`;
}
