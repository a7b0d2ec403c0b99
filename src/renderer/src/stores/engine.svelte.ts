/**
 * The engine process as the photographer sees it: what this machine offers (app:info) and whether
 * the engine is up. A loss is remembered until the banner is dismissed, so "Restarted: the batch
 * resumed" stays readable after the engine is back.
 */
import type { AppInfo, EngineStatus } from '../../../ipc/schemas';
import { api } from '../lib/api';

class EngineStore {
  info = $state<AppInfo | null>(null);
  status = $state<EngineStatus | null>(null);
  /** The engine was lost or stopped since the banner was last dismissed. */
  hadTrouble = $state(false);
  dismissed = $state(false);
  /** A batch was running when the engine was lost (so "the batch resumed" is true). */
  batchWasRunning = $state(false);

  /** What the banner shows: null when all is well. */
  banner = $derived.by((): { tone: 'trouble' | 'recovered'; state: EngineStatus['state']; message: string; resumed: boolean } | null => {
    const s = this.status;
    if (!s) return null;
    const resumed = this.batchWasRunning;
    if (s.state === 'lost' || s.state === 'restarting' || s.state === 'stopped') return { tone: 'trouble', state: s.state, message: s.message, resumed };
    if (s.state === 'ready' && this.hadTrouble && !this.dismissed) return { tone: 'recovered', state: s.state, message: s.message, resumed };
    return null;
  });

  async load(): Promise<void> {
    const [info, status] = await Promise.all([api.appInfo({}), api.engineStatus({})]);
    this.info = info;
    this.setStatus(status);
  }

  /**
   * Returns true when the engine just came back after a loss (the caller reloads what may have
   * changed). `batchRunning`: whether a batch was under way when this status arrived.
   */
  setStatus(s: EngineStatus, batchRunning = false): boolean {
    const wasDown = this.status !== null && this.status.state !== 'ready' && this.status.state !== 'starting';
    this.status = s;
    if (s.state === 'lost' || s.state === 'restarting' || s.state === 'stopped') {
      if (!this.hadTrouble || this.dismissed) this.batchWasRunning = batchRunning;
      else this.batchWasRunning ||= batchRunning;
      this.hadTrouble = true;
      this.dismissed = false;
    }
    return wasDown && s.state === 'ready';
  }

  dismiss(): void {
    this.dismissed = true;
    this.hadTrouble = false;
  }
}

export const engine = new EngineStore();
