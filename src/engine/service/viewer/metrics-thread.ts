/**
 * PSNR and MS-SSIM on a worker thread (metrics-worker.ts), so a long measurement does not hold up
 * the engine's other answers. From sources the thread starts metrics-launcher.mjs (tsx); a built
 * app runs its metrics.js, named by SGAI_METRICS_ENTRY or found beside the built encoder entry
 * (SGAI_WORKER_ENTRY), as the decoder process is. Where no thread can start, the measurement runs
 * here, and the log says so.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SgaiError, type RasterImage, type SgaiErrorCode } from '../../../core';
import { builtBesideWorker } from '../../worker/entry-path';
import { measurePair, type Metrics } from './measure';
import type { MetricsMessage, MetricsRequest } from './metrics-worker';

export const BUILT_METRICS = 'metrics.js';

export function metricsEntry(env: NodeJS.ProcessEnv = process.env): string {
  return env.SGAI_METRICS_ENTRY ?? builtBesideWorker(BUILT_METRICS, env) ?? fileURLToPath(new URL('./metrics-launcher.mjs', import.meta.url));
}

const cancelled = () => new SgaiError('CANCELLED', 'the measurement was no longer needed');

/** Measures `img` against `reference` off the event loop; an abort ends the thread. */
export function measureOffThread(img: RasterImage, reference: RasterImage, o: { log: (line: string) => void; signal?: AbortSignal }): Promise<Metrics> {
  if (o.signal?.aborted) return Promise.reject(cancelled());
  return new Promise<Metrics>((resolve, reject) => {
    const worker = new Worker(metricsEntry());
    let loaded = false;
    let answered = false;
    const finish = (f: () => void) => {
      if (answered) return;
      answered = true;
      o.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      f();
    };
    const onAbort = () => finish(() => reject(cancelled()));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: MetricsMessage) => {
      if (m.type === 'ready') return void (loaded = true);
      finish(() => (m.ok ? resolve({ psnr: m.psnr, msssim: m.msssim }) : reject(new SgaiError(m.code as SgaiErrorCode, m.message))));
    });
    worker.once('error', (e) => finish(() => {
      if (loaded) return reject(e);
      // The thread's code could not load (a build without metrics.js): measure here rather than not at all.
      o.log(`metrics thread could not start (${e.message}); measuring on the engine's own thread`);
      try {
        resolve(measurePair(img, reference));
      } catch (err) {
        reject(err);
      }
    }));
    worker.once('exit', (code) => finish(() => reject(new SgaiError('ENCODER_CRASHED', `the metrics thread stopped (exit code ${code}) before it answered`))));
    const req: MetricsRequest = { img, reference };
    worker.postMessage(req);
  });
}
