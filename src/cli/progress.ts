/** A one-line progress bar on a TTY (stderr); silent otherwise. */
export function progressBar(label: string): { update(frac: number, text: string): void; done(): void } {
  const tty = !!process.stderr.isTTY && !process.env.CI;
  let last = 0;
  return {
    update(frac, text) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && frac < 1) return;
      last = now;
      const width = 24;
      const filled = Math.round(Math.max(0, Math.min(1, frac)) * width);
      const line = `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${text}`;
      process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 100) - 1)}\x1b[K`);
    },
    done() {
      if (tty) process.stderr.write("\r\x1b[K");
    },
  };
}
