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

/** One self-overwriting line on stderr when it is a terminal, silent otherwise; `done` clears it. */
export function statusLine(terminal: Terminal) {
  let shown = false;
  return {
    show(text: string) {
      if (!terminal.stderr.isTTY) return;
      terminal.stderr.write(`\r\x1b[K${text}`);
      shown = true;
    },
    done() {
      if (shown) terminal.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

/** Bytes read and stored as a status line, at most twice a second. */
export function progressLine(terminal: Terminal, now: () => number = Date.now) {
  const line = statusLine(terminal);
  const started = now();
  let last = 0;
  return {
    update(label: string, rawBytes: number, storedBytes: number) {
      if (!terminal.stderr.isTTY) return;
      const at = now();
      if (at - last < 500) return;
      last = at;
      const seconds = Math.max((at - started) / 1000, 0.001);
      line.show(
        `${label}: ${formatBytes(rawBytes)} read, ${formatBytes(storedBytes)} stored, ${formatBytes(rawBytes / seconds)}/s`,
      );
    },
    done: line.done,
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
