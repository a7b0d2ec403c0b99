/**
 * The engine's encoder processes, shared by every batch: started for the first batch and kept
 * for the next ones (each process loads its model once). A batch that needs another model,
 * other quality-target models, another backend or another number of workers gets a fresh pool
 * (runBatch refuses a pool running another model). Pause is the app's: it holds across pools.
 */
import type { AppSettings } from '../../ipc/schemas';
import type { EngineEventListener } from '../events';
import type { BatchPlan } from '../plan';
import { EncoderPool } from '../pool';
import type { EncodeSettings } from '../run';
import { chooseWorkers } from '../sizing';
import { coreBackend } from './backend';

export class SharedPool {
  private pool: EncoderPool | undefined;
  private key = '';
  private paused = false;

  constructor(private readonly onEvent: EngineEventListener) {}

  /** Encoder processes for this batch: how many from the app's settings ('auto': cores and memory for its largest photo). */
  private async workersFor(plan: BatchPlan, s: EncodeSettings, app: AppSettings): Promise<{ n: number; byPhotos: boolean }> {
    if (app.workers !== 'auto') return { n: app.workers, byPhotos: false };
    const c = await chooseWorkers(plan, { maxPixels: s.read?.maxPixels, budgetBytes: app.memoryBudgetMB ? app.memoryBudgetMB * 2 ** 20 : undefined });
    return { n: c.workers, byPhotos: c.limitedBy === 'photos' };
  }

  async forBatch(plan: BatchPlan, s: EncodeSettings, app: AppSettings): Promise<EncoderPool> {
    const { n, byPhotos } = await this.workersFor(plan, s, app);
    const key = JSON.stringify([s.model.weights.sha256, (s.targetModels ?? []).map((m) => m.weights.sha256), app.backend]);
    // A batch with few photos to do makes do with a bigger pool already running.
    if (this.pool && this.key === key && (this.pool.size === n || (byPhotos && this.pool.size > n))) return this.pool;
    await this.close();
    this.pool = new EncoderPool({ workers: n, model: s.model, targetModels: s.targetModels, backend: coreBackend(app.backend), onEvent: this.onEvent });
    this.key = key;
    if (this.paused) this.pool.pause();
    return this.pool;
  }

  pause(): void {
    this.paused = true;
    this.pool?.pause();
  }

  resume(): void {
    this.paused = false;
    this.pool?.resume();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Ends every encoder process (what waits or runs is cancelled). */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    this.key = '';
    await p?.close();
  }
}
