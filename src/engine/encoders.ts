/**
 * Who encodes a batch's photos: this process, one photo at a time, or the encoder pool, one
 * photo per worker process at a time. The batch runner's per-photo steps are the same either
 * way (it alone writes outputs and the manifest); only this part differs.
 */
import type { LoadedModel } from '../core';
import { encodePhotoFile } from './encode-photo';
import type { EngineEventListener } from './events';
import type { EncodedPhoto, EncodeRequest, EncoderPool } from './pool';

export interface EncodeHooks {
  signal?: AbortSignal;
  /** The photo leaves the queue: `worker` is the pool slot (undefined in-process). */
  onStart: (worker?: number) => void;
  onProgress: (stage: string, done: number, total: number) => void;
}

export interface PhotoEncoder {
  /** Photos encoded at the same time. */
  readonly concurrency: number;
  /** Encoder processes (0: this process). */
  readonly workers: number;
  encode(req: EncodeRequest, hooks: EncodeHooks): Promise<EncodedPhoto>;
  /** An error that is no photo's fault and fails every photo (the workers cannot start): the batch stops with it. */
  failure(): Error | undefined;
  /** Ends what this encoder started (a pool handed in by the caller stays up). */
  close(): Promise<void>;
}

export function inProcessEncoder(model: LoadedModel, targetModels: LoadedModel[] = []): PhotoEncoder {
  return {
    concurrency: 1,
    workers: 0,
    async encode(req, hooks) {
      hooks.onStart();
      const t0 = performance.now();
      const r = await encodePhotoFile(req.source, { model, targetModels }, req.options, hooks);
      return { ...r, seconds: (performance.now() - t0) / 1000 };
    },
    failure: () => undefined,
    close: async () => undefined,
  };
}

/** Batch-lane requests to a pool; its worker and queue events go to `onEvent` while the batch runs. */
export function poolEncoder(pool: EncoderPool, o: { owns: boolean; onEvent?: EngineEventListener }): PhotoEncoder {
  const off = o.onEvent ? pool.on(o.onEvent) : undefined;
  return {
    concurrency: pool.size,
    workers: pool.size,
    encode: (req, hooks) => pool.submit(req, {
      lane: 'batch', signal: hooks.signal, onProgress: hooks.onProgress, onStart: (w) => hooks.onStart(w.slot),
    }),
    failure: () => pool.failure,
    async close() {
      off?.();
      if (o.owns) await pool.close();
    },
  };
}
