/**
 * Reading export:state: which of two reports of one export is the newer (export:start's answer
 * can arrive after the first events, and must not wind the card back), whether it is over, and
 * what to say about it. Pure, so the tests run it as it is.
 */
import type { ExportState } from '../../../ipc/schemas';
import { baseName } from './format';
import { commonFolder } from './sgai-paths';

export const isFinal = (s: Pick<ExportState, 'state'>): boolean => s.state !== 'running';

/** How far a report is: a final one is past any running one; among running ones, files done, then files written or failed. */
function progress(s: ExportState): number {
  return (isFinal(s) ? 1e12 : 0) + s.done * 1e6 + s.written.length + s.failed.length;
}

/** The report to keep for an export: the incoming one unless the kept one is further along. */
export function newerState(kept: ExportState | undefined, incoming: ExportState): ExportState {
  if (!kept || kept.exportId !== incoming.exportId) return incoming;
  return progress(incoming) >= progress(kept) ? incoming : kept;
}

/**
 * The folder the files went to: the one asked for when this window started the export, else the
 * folder the written files share.
 */
export function exportFolder(s: ExportState, asked: string | undefined): string | null {
  if (asked) return asked;
  return commonFolder(s.written.map((w) => w.path));
}

/** The file being decoded now, by name. */
export const currentName = (s: ExportState): string | null => (s.current ? baseName(s.current) : null);
