/**
 * Progress on long runs: one updating line on stderr when it is a terminal, nothing otherwise.
 * (Wall-clock time is read here, in the CLI, only to throttle redraws — never by the simulation.)
 */
export function progressPrinter(label: string): { update(text: string): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(text: string) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      shown = true;
      process.stderr.write(`\r\x1b[K${label}: ${text}`);
    },
    done() {
      if (tty && shown) process.stderr.write("\r\x1b[K");
    },
  };
}
