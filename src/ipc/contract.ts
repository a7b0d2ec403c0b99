/**
 * The typed IPC contract, declared once and used by main (validation), preload (exposed
 * functions) and renderer (types). Every request is validated with zod in main before use.
 */
import { z } from 'zod';

export const channels = {
  fileInfo: 'sgai:file-info',
  openDialog: 'sgai:open-dialog',
} as const;

export const FileInfoRequest = z.object({ path: z.string().min(1).max(4096) });
export type FileInfoRequest = z.infer<typeof FileInfoRequest>;

export const FileInfo = z.object({
  path: z.string(),
  bytes: z.number(),
  width: z.number(),
  height: z.number(),
  bpp: z.number(),
  modelId: z.string(),
  refined: z.boolean(),
  /** data: URL of the embedded preview, shown at once while the full decode runs. */
  previewDataUrl: z.string().nullable(),
});
export type FileInfo = z.infer<typeof FileInfo>;

/** What the preload exposes on window.sgai: named functions only. */
export interface SgaiApi {
  fileInfo(req: FileInfoRequest): Promise<FileInfo>;
  openDialog(): Promise<string | null>;
}
