/** In-memory stand-ins for the worker's ports, for testing the core without peers. */
import { Readable } from 'node:stream';
import type { MultipartUpload, UploadedPart } from '#functions/contracts/artifact-store.ts';
import type { Producer, ProducerExit } from '#functions/dumps/commit/producer.ts';

export class MemoryUpload implements MultipartUpload {
  readonly key: string;
  readonly uploadId = 'upload-1';
  readonly parts = new Map<number, Buffer>();
  state: 'open' | 'completed' | 'aborted' = 'open';
  failOnPart?: number;
  constructor(key = 'target/run/object') {
    this.key = key;
  }
  async uploadPart(partNumber: number, body: Buffer): Promise<UploadedPart> {
    await new Promise((resolve) => setImmediate(resolve));
    if (partNumber === this.failOnPart) throw new Error('S3 went away');
    this.parts.set(partNumber, Buffer.from(body));
    return { PartNumber: partNumber, ETag: `"etag-${partNumber}"` };
  }
  async complete(): Promise<{ versionId?: string }> {
    this.state = 'completed';
    return { versionId: 'v1' };
  }
  async abort(): Promise<void> {
    if (this.state === 'open') this.state = 'aborted';
  }
  content(): Buffer {
    return Buffer.concat([...this.parts.entries()].sort(([a], [b]) => a - b).map(([, body]) => body));
  }
}

/** A producer that emits `chunks` and then exits as told. */
export function fakeProducer(chunks: Buffer[], exit: Partial<ProducerExit> = {}): Producer & { killed: boolean } {
  let killed = false;
  const stdout = Readable.from(chunks);
  const result: ProducerExit = { code: 0, signal: null, timedOut: false, stoppedByUs: false, stderrTail: '', ...exit };
  return {
    description: 'fake dump',
    stdout,
    exited: new Promise((resolve) =>
      stdout.once('end', () => resolve(result)).once('close', () => resolve({ ...result, stoppedByUs: killed })),
    ),
    kill() {
      killed = true;
      stdout.destroy();
    },
    get killed() {
      return killed;
    },
  };
}
