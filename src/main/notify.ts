/**
 * An OS notification when a batch ends (done, cancelled or failed), once per batch, if the
 * photographer left "notify when done" on. Clicking it brings the window back.
 */
import { basename } from 'node:path';
import type { BatchInfo } from '../ipc/schemas';

export interface NotificationLike {
  on(event: 'click' | 'close', listener: () => void): unknown;
  show(): void;
}
export interface NotifyDeps {
  isSupported: () => boolean;
  create: (options: { title: string; body: string }) => NotificationLike;
  /** settings.notify, asked when a batch ends (settings may change while it runs). */
  enabled: () => Promise<boolean>;
  focusWindow: () => void;
  log: (line: string) => void;
}

const ENDED = new Set(['done', 'cancelled', 'failed']);

export function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

const photos = (n: number) => `${n.toLocaleString('en-US')} photo${n === 1 ? '' : 's'}`;

/** What the notification says, in the photographer's words. */
export function batchMessage(b: BatchInfo): { title: string; body: string } {
  const folder = basename(b.folderPath) || b.folderPath;
  const t = b.totals;
  if (b.state === 'failed') {
    return { title: 'Compression stopped', body: `${folder}: ${b.error?.message ?? 'the batch stopped on an error'}. Finished photos are kept.` };
  }
  if (b.state === 'cancelled') {
    return { title: 'Compression cancelled', body: `${folder}: ${photos(t.done)} of ${t.total} finished; nothing half-written was left.` };
  }
  const saved = t.bytesIn > 0 ? Math.round((1 - t.bytesOut / t.bytesIn) * 100) : 0;
  const sizes = t.bytesIn > 0 ? `: ${formatBytes(t.bytesIn)} → ${formatBytes(t.bytesOut)} (−${saved} %)` : '';
  const extra = [t.failed ? `${t.failed} failed` : '', t.skipped ? `${t.skipped} skipped` : ''].filter(Boolean).join(', ');
  return { title: 'Compression finished', body: `${folder}: ${photos(t.done)}${sizes}${extra ? `; ${extra}` : ''}.` };
}

export function batchNotifier(deps: NotifyDeps): (name: string, payload: unknown) => void {
  const notified = new Set<string>();
  // Electron drops a notification's click handler if the object is garbage-collected: hold on.
  const shown = new Set<NotificationLike>();

  return (name, payload) => {
    if (name !== 'batch:state') return;
    const batch = payload as BatchInfo;
    if (!ENDED.has(batch.state) || notified.has(batch.batchId)) return;
    notified.add(batch.batchId);
    void (async () => {
      if (!deps.isSupported() || !(await deps.enabled())) return;
      const n = deps.create(batchMessage(batch));
      shown.add(n);
      n.on('click', () => {
        shown.delete(n);
        deps.focusWindow();
      });
      n.on('close', () => shown.delete(n));
      n.show();
    })().catch((e: unknown) => deps.log(`could not show the batch notification: ${(e as Error)?.message ?? e}`));
  };
}
