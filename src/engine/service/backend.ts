/**
 * The compute backend of the engine process itself (it encodes the estimate's crops, measures
 * speed, and decodes for --verify; the photos of a batch are encoded by the encoder processes,
 * which initialise the same choice themselves).
 */
import { type BackendReport, type BackendRequest, initBackend } from '../../core';
import type { AppSettings } from '../../ipc/schemas';

/** The app's backend names in core's terms ('gpu' is tfjs-node-gpu). */
export const coreBackend = (b: AppSettings['backend']): BackendRequest => (b === 'gpu' ? 'tensorflow-gpu' : b);

export function backendKeeper(settings: () => AppSettings): () => Promise<BackendReport> {
  // One initialisation at a time: tfjs backends are process-wide.
  let chain: Promise<BackendReport> | undefined;
  return () => {
    const run = () => initBackend(coreBackend(settings().backend));
    chain = chain ? chain.then(run, run) : run();
    return chain;
  };
}
