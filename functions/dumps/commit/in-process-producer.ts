/**
 * A producer whose output we generate ourselves (e.g. users and grants read over SQL), so it flows through
 * the same commit protocol as a dump tool's stdout.
 */
import { Readable } from 'node:stream';
import type { Producer, ProducerExit } from './producer.ts';

export function inProcessProducer(description: string, generate: () => AsyncIterable<string>): Producer {
  let stoppedByUs = false;
  let resolveExit: (exit: ProducerExit) => void = () => {};
  const exited = new Promise<ProducerExit>((resolve) => {
    resolveExit = resolve;
  });
  const exit = (code: number, stderrTail = '') => resolveExit({ code, signal: null, timedOut: false, stoppedByUs, stderrTail });
  async function* lines() {
    try {
      for await (const line of generate()) yield Buffer.from(line, 'utf8');
      exit(0);
    } catch (error) {
      exit(1, (error as Error).message);
    }
  }
  const stdout = Readable.from(lines(), { objectMode: false });
  stdout.once('close', () => exit(stoppedByUs ? 1 : 0));
  return {
    description,
    stdout,
    exited,
    kill() {
      stoppedByUs = true;
      stdout.destroy();
    },
  };
}
