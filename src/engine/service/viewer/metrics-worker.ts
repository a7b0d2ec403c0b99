/**
 * A worker thread that measures one image against another (measure.ts): MS-SSIM of a 24 MP photo
 * is tens of seconds of arithmetic, which must not stall the engine's event loop while the viewer
 * asks it for tiles. One request per thread; the thread is ended when it has answered.
 */
import { parentPort } from 'node:worker_threads';
import type { RasterImage } from '../../../core';
import { measurePair } from './measure';

export interface MetricsRequest {
  img: RasterImage;
  reference: RasterImage;
}
/** 'ready' once the thread's code has loaded, then the answer. */
export type MetricsMessage =
  | { type: 'ready' }
  | { type: 'answer'; ok: true; psnr: number; msssim: number | null }
  | { type: 'answer'; ok: false; code: string; message: string };

parentPort?.postMessage({ type: 'ready' } satisfies MetricsMessage);
parentPort?.once('message', (req: MetricsRequest) => {
  let answer: MetricsMessage;
  try {
    answer = { type: 'answer', ok: true, ...measurePair(req.img, req.reference) };
  } catch (e) {
    const code = e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string' ? (e as { code: string }).code : 'UNEXPECTED';
    answer = { type: 'answer', ok: false, code, message: e instanceof Error ? e.message : String(e) };
  }
  parentPort!.postMessage(answer);
});
