/**
 * Progress on stderr for anything that takes more than a second: quiet for quick jobs, a
 * single updating line (stage, percent, ETA) for slow ones, plain lines when not a TTY.
 */
export function progressReporter(enabled: boolean) {
  const start = Date.now();
  let stageStart = start;
  let stage = '';
  let lastPrint = 0;
  const tty = process.stderr.isTTY;
  let printed = false;
  return {
    update(s: string, done: number, total: number): void {
      if (!enabled) return;
      const now = Date.now();
      if (s !== stage) {
        stage = s;
        stageStart = now;
      }
      // A TTY line is redrawn in place; a log file gets a line every few seconds at most.
      const every = tty ? 250 : 3000;
      if (now - start < 1000 || (now - lastPrint < every && done < total)) return;
      lastPrint = now;
      const frac = total ? done / total : 1;
      const eta = frac > 0 ? ((now - stageStart) / frac - (now - stageStart)) / 1000 : NaN;
      const line = `${s}: ${done}/${total} (${(frac * 100).toFixed(0)}%)${done < total && Number.isFinite(eta) ? `, ~${eta.toFixed(0)} s left` : ''}`;
      if (tty) process.stderr.write(`\r\x1b[K${line}`);
      else process.stderr.write(`${line}\n`);
      printed = true;
    },
    finish(): void {
      if (enabled && printed && tty) process.stderr.write('\n');
    },
  };
}
