/**
 * A Writable that cuts its input into S3 parts of the sizes a `PartSizePolicy` prescribes and uploads
 * them with bounded concurrency. It never completes the upload: the caller decides whether the bytes
 * are a backup (see `stage-object.ts`). Memory is bounded by (maxInFlight + 1) parts.
 */
import { Writable } from 'node:stream';
import type { MultipartUpload, UploadedPart } from '../../contracts/artifact-store.ts';
import { MAX_PARTS, type PartSizePolicy } from './part-size.ts';

export class PartWriter extends Writable {
  readonly parts: UploadedPart[] = [];
  private readonly upload: MultipartUpload;
  private readonly sizes: PartSizePolicy;
  private readonly maxInFlight: number;
  private readonly inFlight = new Set<Promise<void>>();
  /** Buffers of finished uploads, reused so memory stays at (maxInFlight + 1) parts however long the dump. */
  private readonly spare: Buffer[] = [];
  private failure: Error | undefined;
  private nextPart = 1;
  private buffer: Buffer;
  private filled = 0;

  constructor(upload: MultipartUpload, sizes: PartSizePolicy, maxInFlight = 2) {
    super({ highWaterMark: 1024 * 1024 });
    this.upload = upload;
    this.sizes = sizes;
    this.maxInFlight = maxInFlight;
    this.buffer = this.allocate(sizes.sizeOf(1));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.consume(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // S3 needs at least one part, even for an empty object.
    const flush = this.filled > 0 || this.nextPart === 1 ? this.ship() : Promise.resolve();
    flush
      .then(() => Promise.all(this.inFlight))
      .then(() => {
        if (this.failure) throw this.failure;
        this.parts.sort((a, b) => a.PartNumber - b.PartNumber);
        callback();
      })
      .catch(callback);
  }

  private async consume(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.failure) throw this.failure;
      const take = Math.min(this.buffer.length - this.filled, chunk.length - offset);
      chunk.copy(this.buffer, this.filled, offset, offset + take);
      this.filled += take;
      offset += take;
      if (this.filled === this.buffer.length) await this.ship();
    }
  }

  private allocate(size: number): Buffer {
    const index = this.spare.findIndex((buffer) => buffer.length === size);
    if (index >= 0) return this.spare.splice(index, 1)[0] as Buffer;
    this.spare.length = 0; // the schedule moved to a bigger size; the old buffers will not fit again
    return Buffer.allocUnsafe(size);
  }

  /** Hands the filled buffer to an upload, waiting first if too many are already in flight. */
  private async ship(): Promise<void> {
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const partNumber = this.nextPart++;
    if (partNumber > MAX_PARTS) throw new Error(`the dump needs more than ${MAX_PARTS} parts, which S3 cannot hold`);
    const full = this.buffer;
    const body = full.subarray(0, this.filled);
    if (partNumber < MAX_PARTS) this.buffer = this.allocate(this.sizes.sizeOf(partNumber + 1));
    this.filled = 0;
    const task = this.upload.uploadPart(partNumber, body).then(
      (part) => {
        this.parts.push(part);
        this.spare.push(full);
      },
      (error: Error) => {
        this.failure ??= error;
      },
    );
    const tracked = task.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }
}
