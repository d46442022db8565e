/** How the CLI talks: one line per failure on stderr, a progress line on terminals, results on stdout. */
import type { Logger } from '../contracts/telemetry.ts';

export interface Terminal {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A single self-overwriting line on a terminal, at most twice a second; silent when not a terminal. */
export function progressLine(terminal: Terminal, now: () => number = Date.now) {
  const started = now();
  let last = 0;
  let shown = false;
  return {
    update(label: string, rawBytes: number, storedBytes: number) {
      if (!terminal.stderr.isTTY) return;
      const at = now();
      if (at - last < 500) return;
      last = at;
      const seconds = Math.max((at - started) / 1000, 0.001);
      terminal.stderr.write(
        `\r\x1b[K${label}: ${formatBytes(rawBytes)} read, ${formatBytes(storedBytes)} stored, ${formatBytes(rawBytes / seconds)}/s`,
      );
      shown = true;
    },
    done() {
      if (shown) terminal.stderr.write('\r\x1b[K');
    },
  };
}

/** Log lines on stderr with --verbose; otherwise the CLI stays quiet except for progress and results. */
export function cliLogger(terminal: Terminal, verbose: boolean): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>) => {
    if (!verbose) return;
    terminal.stderr.write(`safekeep: ${level}: ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);
  };
  return { info: (m, f) => write('info', m, f), warn: (m, f) => write('warn', m, f) };
}
