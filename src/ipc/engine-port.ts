/**
 * Messages between a host (Electron main, or the browser server) and the engine process, over a
 * MessagePort (utilityProcess) or a child_process IPC channel (fork). Both sides validate what
 * they receive. Pixels travel as Uint8Array (structured clone), never as base64.
 */
import { z } from 'zod';
import { IpcError } from './result';

/** How the host starts the engine: where it keeps its state, and what it may touch. */
export const EngineStart = z.object({
  kind: z.literal('start'),
  /** Folder for settings.json and library.json (Electron: userData; browser: ~/.config/sgai). */
  dataDir: z.string(),
  transport: z.enum(['electron', 'browser']),
  version: z.string(),
  /** Folders to add to the library at start (sgai app --browser FOLDER). */
  addFolders: z.array(z.string()).default([]),
  /** A batch that was running when the previous engine process died: start it again (its manifest resumes it). */
  resumeFolderId: z.string().optional(),
});
export type EngineStart = z.infer<typeof EngineStart>;

export const HostToEngine = z.discriminatedUnion('kind', [
  EngineStart,
  z.object({ kind: z.literal('invoke'), id: z.number().int(), channel: z.string(), req: z.unknown() }),
  z.object({ kind: z.literal('pixels'), id: z.number().int(), route: z.string(), req: z.unknown() }),
  /** Cancel running batches (nothing partial left), stop encoder processes, then exit. */
  z.object({ kind: z.literal('shutdown') }),
]);
export type HostToEngine = z.infer<typeof HostToEngine>;

export const EngineToHost = z.discriminatedUnion('kind', [
  /** Started, its state loaded. */
  z.object({ kind: z.literal('ready'), pid: z.number() }),
  z.object({ kind: z.literal('result'), id: z.number().int(), result: z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), value: z.unknown() }), z.object({ ok: z.literal(false), error: IpcError })]) }),
  z.object({
    kind: z.literal('pixels'), id: z.number().int(),
    result: z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), bytes: z.instanceof(Uint8Array), mime: z.string() }), z.object({ ok: z.literal(false), error: IpcError })]),
  }),
  z.object({ kind: z.literal('event'), name: z.string(), payload: z.unknown() }),
  /** The folder whose batch is running now, or null: the host keeps it to resume after a crash. */
  z.object({ kind: z.literal('running'), folderId: z.string().nullable() }),
  z.object({ kind: z.literal('stopped') }),
]);
export type EngineToHost = z.infer<typeof EngineToHost>;
