/**
 * The one typed contract between the renderer and everything behind it, declared once. It drives
 * main's handlers (Electron IPC), the preload's window.sgai, the loopback browser server's routes
 * and the renderer's client; a test checks every channel is served everywhere.
 *
 * - `invoke`: function name → { channel, req, res, paths, where }. Requests are validated with zod
 *   where they are received (main, browser server, engine process); answers are Result envelopes.
 * - `events`: pushed to the renderer (engine → host → renderer), validated by the host.
 * - `pixels`: image bytes, served over a custom protocol (Electron) or a GET route (browser),
 *   never as base64 JSON.
 *
 * `paths(req)` lists the filesystem paths a request names and how they are checked before the
 * request reaches the engine: 'root' paths must lie inside a root the user allowed (browser: the
 * folders given to `sgai app --browser`, default the home folder; Electron: anywhere the user
 * picked), 'added' paths inside a library folder the user added or its output root.
 * `where`: 'engine' requests are forwarded to the engine process; 'host' ones are answered by
 * main or the browser server themselves (dialogs, opening a folder in the file manager).
 */
import { z } from 'zod';
import {
  AppInfo, AppSettings, BatchInfo, CompareSide, Estimate, EngineStatus, ExportSettings, ExportState, Id, JobRow, LibraryFolder,
  NamePreviewRow, OutputSettings, Path, PhotoFilter, PhotoRow, RelPath, ScanCounts, ViewerFileInfo, ViewerLayer, ViewerOriginal,
} from './schemas';

export type PathCheck = { path: string; must: 'root' | 'added' };

interface InvokeDef<Req extends z.ZodType, Res extends z.ZodType, W extends 'engine' | 'host' = 'engine' | 'host'> {
  channel: string;
  req: Req;
  res: Res;
  paths?: (req: z.infer<Req>) => PathCheck[];
  /** Kept as its literal type, so handler maps over one side's channels can be checked at compile time. */
  where: W;
}
const def = <Req extends z.ZodType, Res extends z.ZodType, W extends 'engine' | 'host'>(d: InvokeDef<Req, Res, W>) => d;

const None = z.object({}).strict();
const FolderRef = z.object({ folderId: Id }).strict();
const BatchRef = z.object({ batchId: Id }).strict();
const destinationPaths = (o: { destination: { kind: string; path?: string } } | undefined): PathCheck[] =>
  o?.destination.kind === 'folder' && o.destination.path ? [{ path: o.destination.path, must: 'root' }] : [];

export const invoke = {
  // ---- the app and its settings
  appInfo: def({ channel: 'app:info', req: None, res: AppInfo, where: 'engine' }),
  engineStatus: def({ channel: 'engine:status', req: None, res: EngineStatus, where: 'host' }),
  settingsGet: def({ channel: 'settings:get', req: None, res: AppSettings, where: 'engine' }),
  settingsSet: def({
    channel: 'settings:set', req: AppSettings.partial().strict(), res: AppSettings, where: 'engine',
    paths: (r) => (r.defaultOutput ? [{ path: r.defaultOutput, must: 'root' }] : []),
  }),

  // ---- host-only helpers (Electron: native dialogs and shell; browser: NOT_AVAILABLE or a no-op answer)
  pickFolder: def({
    channel: 'dialog:pick-folder', req: z.object({ purpose: z.enum(['library', 'output', 'export']) }).strict(), res: z.object({ path: Path.nullable() }), where: 'host',
  }),
  /** File > Open: .sgai files chosen in a native dialog; [] when cancelled. */
  pickFiles: def({
    channel: 'dialog:pick-files', req: z.object({ purpose: z.literal('sgai') }).strict(), res: z.object({ paths: z.array(Path) }), where: 'host',
  }),
  /**
   * .sgai files the app was asked to open before the window could take them (command line,
   * double-click, the OS open-file event, a second instance); drained by the call. Later ones
   * arrive as viewer:open-request events.
   */
  pendingOpens: def({ channel: 'app:pending-opens', req: None, res: z.object({ paths: z.array(Path) }), where: 'host' }),
  revealPath: def({
    channel: 'shell:reveal', req: z.object({ path: Path }).strict(), res: z.object({ shown: z.boolean() }), where: 'host',
    paths: (r) => [{ path: r.path, must: 'added' }],
  }),

  // ---- library folders
  libraryList: def({ channel: 'library:list', req: None, res: z.array(LibraryFolder), where: 'engine' }),
  /** Adds a folder (and starts its scan); adding one already there returns it. */
  libraryAdd: def({
    channel: 'library:add', req: z.object({ path: Path, output: OutputSettings.optional() }).strict(), res: LibraryFolder, where: 'engine',
    paths: (r) => [{ path: r.path, must: 'root' }, ...destinationPaths(r.output)],
  }),
  libraryRemove: def({ channel: 'library:remove', req: FolderRef, res: z.object({ removed: z.boolean() }), where: 'engine' }),
  libraryUpdate: def({
    channel: 'library:update', req: z.object({ folderId: Id, output: OutputSettings }).strict(), res: LibraryFolder, where: 'engine',
    paths: (r) => destinationPaths(r.output),
  }),
  /** Rescans (progress as library:scan events); resolves when the scan has started. */
  libraryScan: def({ channel: 'library:scan', req: FolderRef, res: z.object({ started: z.boolean() }), where: 'engine' }),
  /** A page of the folder's photos, for a virtualised list. */
  libraryPhotos: def({
    channel: 'library:photos',
    req: z.object({ folderId: Id, offset: z.number().int().min(0), limit: z.number().int().min(1).max(500), filter: PhotoFilter, query: z.string().max(256).optional() }).strict(),
    res: z.object({ total: z.number(), rows: z.array(PhotoRow) }),
    where: 'engine',
  }),
  /** Target names for the first photos under some (possibly unsaved) output settings. */
  libraryPreviewNames: def({
    channel: 'library:preview-names',
    req: z.object({ folderId: Id, output: OutputSettings, limit: z.number().int().min(1).max(100) }).strict(),
    res: z.object({ rows: z.array(NamePreviewRow), total: z.number(), skips: z.number() }),
    where: 'engine',
    paths: (r) => destinationPaths(r.output),
  }),
  /** A fast sampled estimate of output size and time (a few photos encoded small, no refinement). */
  estimate: def({
    channel: 'estimate:run', req: z.object({ folderId: Id, output: OutputSettings }).strict(), res: Estimate, where: 'engine',
    paths: (r) => destinationPaths(r.output),
  }),

  // ---- jobs (one batch runs at a time; others wait in order)
  jobsStart: def({ channel: 'jobs:start', req: FolderRef, res: BatchInfo, where: 'engine' }),
  jobsList: def({ channel: 'jobs:list', req: None, res: z.array(BatchInfo), where: 'engine' }),
  /** The per-photo rows of a batch (for a view opened mid-run; events keep them current). */
  jobsRows: def({
    channel: 'jobs:rows', req: z.object({ batchId: Id, offset: z.number().int().min(0), limit: z.number().int().min(1).max(1000) }).strict(),
    res: z.object({ total: z.number(), rows: z.array(JobRow) }), where: 'engine',
  }),
  /** Pause: no new photo starts; running ones finish. */
  jobsPause: def({ channel: 'jobs:pause', req: None, res: z.object({ paused: z.boolean() }), where: 'engine' }),
  jobsResume: def({ channel: 'jobs:resume', req: None, res: z.object({ paused: z.boolean() }), where: 'engine' }),
  /** Cancels a batch, or one photo of it (`id`): nothing partial is left. */
  jobsCancel: def({ channel: 'jobs:cancel', req: z.object({ batchId: Id, id: RelPath.optional() }).strict(), res: z.object({ cancelled: z.boolean() }), where: 'engine' }),
  /** Runs the batch's failed and cancelled photos again (a new batch; done photos are kept). */
  jobsRetry: def({ channel: 'jobs:retry', req: BatchRef, res: BatchInfo, where: 'engine' }),
  /** Writes the batch's per-photo report into its output folder's .sgai-batch/. */
  jobsReport: def({ channel: 'jobs:report', req: z.object({ batchId: Id, format: z.enum(['csv', 'json']) }).strict(), res: z.object({ path: Path }), where: 'engine' }),

  // ---- the .sgai viewer (pixels come through the viewer-preview and viewer-tile routes)
  /**
   * Reads a .sgai's header, metadata and preview (the file alone, so first pixels do not wait for
   * anything else) and starts looking for its original in the background; corrupt, truncated or
   * unknown-model files answer their SgaiError.
   */
  viewerOpen: def({
    channel: 'viewer:open', req: z.object({ path: Path }).strict(), res: ViewerFileInfo, where: 'engine',
    paths: (r) => [{ path: r.path, must: 'root' }],
  }),
  /**
   * The original photo of a .sgai, once the lookup viewer:open started has proven it by size and
   * SHA-256 (it starts one itself if the file is not open); null when there is none.
   */
  viewerOriginal: def({
    channel: 'viewer:original', req: z.object({ path: Path }).strict(), res: ViewerOriginal, where: 'engine',
    paths: (r) => [{ path: r.path, must: 'root' }],
  }),
  /**
   * Prepares the other side of a comparison (the original, or a mozjpeg JPEG searched to the
   * .sgai's byte size within 2 %) and measures both against the original. Slow on big photos (a
   * full decode); the tiles of the other side can be asked for meanwhile.
   */
  viewerCompare: def({
    channel: 'viewer:compare', req: z.object({ path: Path, against: z.enum(['original', 'jpeg']) }).strict(),
    res: z.object({ sgai: CompareSide, other: CompareSide }), where: 'engine',
    paths: (r) => [{ path: r.path, must: 'root' }],
  }),
  /** The viewer moved on: decoded tiles and comparison images of this file may be dropped. */
  viewerClose: def({
    channel: 'viewer:close', req: z.object({ path: Path }).strict(), res: z.object({ closed: z.boolean() }), where: 'engine',
    paths: (r) => [{ path: r.path, must: 'root' }],
  }),
  /** Decodes .sgai files to PNG or JPEG (one from the viewer, or a selection); progress as export:state events. */
  exportStart: def({
    channel: 'export:start', req: z.object({ files: z.array(Path).min(1).max(100000), settings: ExportSettings }).strict(), res: ExportState, where: 'engine',
    paths: (r) => [...r.files.map((path) => ({ path, must: 'root' as const })), { path: r.settings.folder, must: 'root' }],
  }),
  /** Stops an export: the file being written is abandoned (nothing partial left), the rest are not started. */
  exportCancel: def({ channel: 'export:cancel', req: z.object({ exportId: Id }).strict(), res: z.object({ cancelled: z.boolean() }), where: 'engine' }),
} as const;

export type Invoke = typeof invoke;
export type InvokeName = keyof Invoke;
export type Req<K extends InvokeName> = z.input<Invoke[K]['req']>;
export type Res<K extends InvokeName> = z.infer<Invoke[K]['res']>;

// ---------------------------------------------------------------- events

export const events = {
  /** Live scan counts, then done. */
  'library:scan': z.object({ folderId: Id, counts: ScanCounts, bytes: z.number(), done: z.boolean(), error: z.string().optional() }),
  /** A folder's record changed (settings, scan result, photo states). */
  'library:changed': LibraryFolder,
  'batch:state': BatchInfo,
  // Spelled out rather than through a generic helper: a generic `extend` erases the row's fields from the inferred type.
  'job:state': JobRow.extend({ batchId: Id }),
  'job:progress': z.object({ batchId: Id, id: z.string(), stage: z.string(), done: z.number(), total: z.number() }),
  'queue:state': z.object({ paused: z.boolean() }),
  /** The engine process: started, lost (with why), restarted (and what was resumed). */
  'engine:status': EngineStatus,
  'export:state': ExportState,
  /** From the host, not the engine: open this .sgai (double-click, open-file, second instance, File > Open). */
  'viewer:open-request': z.object({ path: Path }),
} as const;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<K extends EventName> = z.infer<Events[K]>;

// ---------------------------------------------------------------- pixels

interface PixelDef<Req extends z.ZodType> {
  req: Req;
  /** What the answer usually is; the engine's answer carries the real type (a preview may be WebP or JPEG). */
  mime: string;
  /** Paths the request names, checked like an invoke's (see the top of this file). */
  paths?: (req: z.infer<Req>) => PathCheck[];
  /** Library-photo routes: folderId + rel must name a photo inside that added folder. */
  inFolder?: true;
}
const pixelDef = <Req extends z.ZodType>(d: PixelDef<Req>) => d;

export const pixels = {
  /** A small JPEG thumbnail of a library photo (longest side ≤ 160 px, EXIF orientation applied). */
  thumb: pixelDef({ req: z.object({ folderId: Id, rel: RelPath }).strict(), mime: 'image/jpeg', inFolder: true }),
  /** The preview embedded in a .sgai, as stored (WebP or JPEG, ≤ 256 px): the viewer's first pixels. */
  'viewer-preview': pixelDef({ req: z.object({ path: Path }).strict(), mime: 'image/webp', paths: (r) => [{ path: r.path, must: 'root' }] }),
  /**
   * One view tile (src/ipc/viewer-tiles.ts) of a layer as PNG: the decoded .sgai (region decode
   * of the codec tiles it needs, cached), the original, the same-size JPEG, or the error heatmap.
   */
  'viewer-tile': pixelDef({
    req: z.object({ path: Path, layer: ViewerLayer, level: z.number().int().min(0).max(16), tx: z.number().int().min(0), ty: z.number().int().min(0) }).strict(),
    mime: 'image/png',
    paths: (r) => [{ path: r.path, must: 'root' }],
  }),
} as const;
export type PixelRoute = keyof typeof pixels;
export type PixelReq<K extends PixelRoute> = z.infer<(typeof pixels)[K]['req']>;

/** Custom scheme for pixels in Electron: sgai-pixels://<route>?q=<JSON request>. */
export const PIXEL_SCHEME = 'sgai-pixels';

// ---------------------------------------------------------------- what the preload exposes

export type InvokeFn<K extends InvokeName> = (req: Req<K>) => Promise<import('./result').Result<Res<K>>>;
export type SgaiBridge = { [K in InvokeName]: InvokeFn<K> } & {
  on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void;
  /** A photo's path from a drag-and-drop File (Electron's webUtils); null elsewhere. */
  pathForFile(file: File): string | null;
};

export const invokeNames = Object.keys(invoke) as InvokeName[];
export const eventNames = Object.keys(events) as EventName[];
export const pixelRoutes = Object.keys(pixels) as PixelRoute[];
