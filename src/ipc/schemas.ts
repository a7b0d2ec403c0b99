/**
 * The app's domain types as zod schemas: what the renderer, the transports and the engine process
 * say to each other. zod only (plus the batch engine's zod-only event schemas) so the renderer can bundle it.
 */
import { z } from 'zod';
import { JobError, JobStateName } from '../engine/events';

export const Path = z.string().min(1).max(4096).refine((p) => !p.includes('\0'), 'a path cannot contain NUL');
/** Library folder and batch ids: short, URL-safe. */
export const Id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);
/** A photo's path relative to its library folder, '/'-separated, never escaping it. */
export const RelPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.startsWith('/') && !p.split('/').some((s) => s === '..' || s === '') && !p.includes('\0') && !/^[A-Za-z]:/.test(p), 'a relative path inside the folder');

// ---------------------------------------------------------------- settings

export const Theme = z.enum(['system', 'light', 'dark']);
/** auto: the fastest that works here (tfjs-node-gpu > ort > tfjs-node > wasm); gpu: tfjs-node-gpu. */
export const BackendChoice = z.enum(['auto', 'ort', 'wasm', 'cpu', 'gpu']);

export const AppSettings = z.object({
  /** Encoder processes: 'auto' (one per core within memory) or a number. */
  workers: z.union([z.literal('auto'), z.number().int().min(1).max(64)]),
  backend: BackendChoice,
  /** Memory the encoder processes may use together, in MB; null: automatic (a share of the RAM). */
  memoryBudgetMB: z.number().int().min(256).max(1 << 22).nullable(),
  /** Output root proposed for a newly added folder; null: '<folder> (sgai)' beside it. */
  defaultOutput: Path.nullable(),
  theme: Theme,
  /** An OS notification when a batch finishes. */
  notify: z.boolean(),
});
export type AppSettings = z.infer<typeof AppSettings>;

// ---------------------------------------------------------------- output settings of one library folder

/** Engine preset ids (src/engine/presets.ts), smallest files first. */
export const PresetId = z.enum(['small', 'balanced', 'high', 'archive']);
export type PresetId = z.infer<typeof PresetId>;
/** SGA+ refinement effort: a time budget per megapixel (off, fast, standard, max). */
export const Effort = z.enum(['off', 'fast', 'standard', 'max']);
export type Effort = z.infer<typeof Effort>;
/** all; all but GPS and camera/lens serial numbers; copyright and artist only. */
export const MetadataPolicy = z.enum(['all', 'no-location', 'copyright']);
export type MetadataPolicy = z.infer<typeof MetadataPolicy>;

export const Quality = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('preset'), preset: PresetId }),
  /** A per-photo target searched over the installed models: size targets are maxima, quality targets minima. */
  z.object({ kind: z.literal('bpp'), value: z.number().min(0.01).max(24) }),
  z.object({ kind: z.literal('bytes'), value: z.number().int().min(1000).max(1e10) }),
  z.object({ kind: z.literal('psnr'), value: z.number().min(15).max(60) }),
  z.object({ kind: z.literal('msssim'), value: z.number().min(0.5).max(0.99999) }),
]);
export type Quality = z.infer<typeof Quality>;

export const Destination = z.discriminatedUnion('kind', [
  /** A separate output root (the default). */
  z.object({ kind: z.literal('folder'), path: Path }),
  /** Next to each original, with a suffix. */
  z.object({ kind: z.literal('beside'), suffix: z.string().max(64) }),
]);
export type Destination = z.infer<typeof Destination>;

export const Glob = z.string().min(1).max(256);

export const OutputSettings = z.object({
  destination: Destination,
  /** Mirror the folder tree under the output root (template '{folder}/{name}'), or put all files in one folder. */
  keepTree: z.boolean(),
  /** Naming template (tokens {name} {folder} {date} {preset} {n}); '' = the default for keepTree. */
  template: z.string().max(512),
  conflict: z.enum(['unique', 'skip', 'overwrite']),
  /** The .sgai must be this many percent smaller than the original; 0 = off. */
  minSavingsPercent: z.number().min(0).max(99),
  /** When min savings is not met: copy the original into the output tree instead of skipping. */
  copyIfNoSavings: z.boolean(),
  metadata: MetadataPolicy,
  quality: Quality,
  effort: Effort,
  include: z.array(Glob).max(32),
  exclude: z.array(Glob).max(32),
  /** Verify every written file by decoding it before it is put in place. */
  verify: z.boolean(),
});
export type OutputSettings = z.infer<typeof OutputSettings>;

// ---------------------------------------------------------------- library

export const ScanCounts = z.object({
  folders: z.number(),
  photos: z.number(),
  hidden: z.number(),
  sidecars: z.number(),
  other: z.number(),
  excluded: z.number(),
  symlinks: z.number(),
  outputRoots: z.number(),
  unreadable: z.number(),
  warnings: z.array(z.string()),
});
export type ScanCounts = z.infer<typeof ScanCounts>;

/** A photo's state in its library: from the output folder's manifest and the current settings. */
export const PhotoState = z.enum(['new', 'done', 'failed', 'skipped', 'out-of-date']);
export type PhotoState = z.infer<typeof PhotoState>;

export const LibraryFolder = z.object({
  id: Id,
  path: Path,
  output: OutputSettings,
  scan: z.object({
    state: z.enum(['never', 'scanning', 'done', 'failed']),
    counts: ScanCounts,
    /** Total bytes of the photos found. */
    bytes: z.number(),
    error: z.string().optional(),
  }),
  /** Photos per state (after a scan). */
  states: z.record(PhotoState, z.number()),
});
export type LibraryFolder = z.infer<typeof LibraryFolder>;

export const PhotoRow = z.object({
  rel: RelPath,
  bytes: z.number(),
  mtimeMs: z.number(),
  state: PhotoState,
  /** Output path relative to the output root, when done or planned. */
  output: z.string().optional(),
  /** The written .sgai's absolute path, when done (the viewer opens it). */
  outputPath: Path.optional(),
  bytesOut: z.number().optional(),
  /** Why it failed or was skipped, in words. */
  reason: z.string().optional(),
});
export type PhotoRow = z.infer<typeof PhotoRow>;

export const PhotoFilter = z.enum(['all', 'new', 'done', 'failed', 'skipped', 'out-of-date']);

export const NamePreviewRow = z.object({
  source: RelPath,
  /** Absolute target path. */
  target: z.string(),
  action: z.enum(['write', 'skip']),
  reason: z.string().optional(),
});
export type NamePreviewRow = z.infer<typeof NamePreviewRow>;

export const Range = z.object({ low: z.number(), high: z.number() });
export type Range = z.infer<typeof Range>;

export const Estimate = z.object({
  /** Photos the estimate was measured on, of `photos`. */
  sampled: z.number(),
  photos: z.number(),
  megapixels: z.number(),
  bytesIn: z.number(),
  bytesOut: Range,
  /** Wall-clock seconds for the whole folder with the current worker setting. */
  seconds: Range,
  /** The model(s) the preset or target would use. */
  models: z.array(z.string()),
  /** Caveats in words (e.g. "a quality target is searched per photo: sizes vary more"). */
  notes: z.array(z.string()),
});
export type Estimate = z.infer<typeof Estimate>;

// ---------------------------------------------------------------- jobs

export const BatchState = z.enum(['queued', 'running', 'paused', 'cancelling', 'done', 'cancelled', 'failed']);
export type BatchState = z.infer<typeof BatchState>;

// The batch engine's own schemas (zod only, so the renderer can bundle them): one definition of a job's states and errors.
export { JobStateName, JobError } from '../engine/events';

export const JobRow = z.object({
  /** Relative source path: the photo's id within its batch. */
  id: z.string(),
  state: JobStateName,
  /** Current stage while running (read, analysis, refine, entropy, write, verify). */
  stage: z.string().optional(),
  done: z.number().optional(),
  total: z.number().optional(),
  output: z.string().optional(),
  bytesIn: z.number().optional(),
  bytesOut: z.number().optional(),
  resumed: z.boolean().optional(),
  reason: z.string().optional(),
  error: JobError.optional(),
  seconds: z.number().optional(),
});
export type JobRow = z.infer<typeof JobRow>;

export const BatchTotals = z.object({
  total: z.number(),
  done: z.number(),
  resumed: z.number(),
  encoded: z.number(),
  skipped: z.number(),
  failed: z.number(),
  cancelled: z.number(),
  bytesIn: z.number(),
  bytesOut: z.number(),
  megapixels: z.number(),
  seconds: z.number(),
});
export type BatchTotals = z.infer<typeof BatchTotals>;

export const BatchInfo = z.object({
  batchId: Id,
  folderId: Id,
  folderPath: Path,
  outRoot: Path,
  state: BatchState,
  totals: BatchTotals,
  /** Skipped photos grouped by reason, failed ones listed with theirs (filled as the batch runs). */
  skippedReasons: z.record(z.string(), z.number()),
  startedAt: z.number(),
  finishedAt: z.number().optional(),
  /** Seconds left, as a range (wide until a few photos are done); absent when unknown. */
  eta: Range.optional(),
  /** Set when the batch stopped on an error that is not one photo's. */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** The batch was picked up again after the engine restarted. */
  resumedAfterRestart: z.boolean().optional(),
});
export type BatchInfo = z.infer<typeof BatchInfo>;

// ---------------------------------------------------------------- the machine

export const AppInfo = z.object({
  version: z.string(),
  /** electron: native dialogs and drag-and-drop paths; browser: paths are typed. */
  transport: z.enum(['electron', 'browser']),
  platform: z.string(),
  cores: z.number(),
  memoryBytes: z.number(),
  /** Backends that can run here, in words, with the one 'auto' picks first. */
  backends: z.array(z.object({ id: BackendChoice.exclude(['auto']), available: z.boolean(), detail: z.string() })),
  autoBackend: z.string(),
  models: z.array(z.object({ id: z.string(), lambda: z.number(), isDefault: z.boolean(), trained: z.boolean() })),
  /** Measured on this machine when the engine started: megapixels per second of one encoder without refinement. */
  encodeMpPerS: z.number().nullable(),
  /** Each refinement effort's time budget per megapixel (0 for off), so the app can say what an effort costs here. */
  efforts: z.array(z.object({ id: Effort, secondsPerMegapixel: z.number().min(0) })).optional(),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const EngineStatus = z.object({
  state: z.enum(['starting', 'ready', 'lost', 'restarting', 'stopped']),
  /** In words, for a banner: why it stopped, what was resumed. */
  message: z.string(),
  restarts: z.number(),
});
export type EngineStatus = z.infer<typeof EngineStatus>;

// ---------------------------------------------------------------- the .sgai viewer

/** The colour of a compare side or layer: the decoded .sgai, the original photo, a JPEG of the same size, the error heatmap. */
export const ViewerLayer = z.enum(['sgai', 'original', 'jpeg', 'heat']);
export type ViewerLayer = z.infer<typeof ViewerLayer>;

export const CaptureInfo = z.object({
  camera: z.string().optional(),
  lens: z.string().optional(),
  /** ISO 8601 as recorded (no time zone unless the file has one). */
  date: z.string().optional(),
  /** "1/250 s · f/5.6 · ISO 200 · 35 mm", in words. */
  exposure: z.string().optional(),
  gps: z.object({ latitude: z.number(), longitude: z.number(), altitude: z.number().optional() }).optional(),
  copyright: z.string().optional(),
  artist: z.string().optional(),
});
export type CaptureInfo = z.infer<typeof CaptureInfo>;

/**
 * What viewer:open tells about a .sgai file, from the file alone (nothing is decoded yet but its
 * header and preview). Its original photo is not part of it: proving one means hashing it, so
 * viewer:original answers that separately (ViewerOriginal).
 */
export const ViewerFileInfo = z.object({
  path: Path,
  name: z.string(),
  bytes: z.number(),
  width: z.number().int(),
  height: z.number().int(),
  bitDepth: z.union([z.literal(8), z.literal(16)]),
  bpp: z.number(),
  /** The codec tile edge (region decodes work in these). */
  tileSize: z.number().int(),
  model: z.object({ id: z.string(), lambda: z.number().nullable(), installed: z.boolean() }),
  /** How the latents were refined; null: not refined. seconds when the file records it. */
  refine: z.object({ method: z.string(), lambda: z.number(), iterations: z.number(), seconds: z.number().optional() }).nullable(),
  /** The embedded preview (pixels route viewer-preview); null when the file has none or it is damaged. */
  preview: z.object({ width: z.number(), height: z.number() }).nullable(),
  capture: CaptureInfo,
  /** The ICC profile's description ("Display P3"), 'sRGB (none embedded)' when absent. */
  colourProfile: z.string(),
  hadAlpha: z.boolean(),
  originalOrientation: z.number(),
  /** Other .sgai files in the same folder, sorted by name, for ←/→. */
  siblings: z.object({ index: z.number().int(), count: z.number().int(), prev: Path.nullable(), next: Path.nullable() }),
  /** Parts left out while reading (a damaged preview, metadata that would not parse), in words. */
  warnings: z.array(z.string()),
});
export type ViewerFileInfo = z.infer<typeof ViewerFileInfo>;

/** The photo a .sgai was made from: beside it with the same name, or named by a batch manifest, its size and SHA-256 matching the file's source record. */
export const OriginalPhoto = z.object({ path: Path, bytes: z.number(), how: z.enum(['beside', 'manifest']) });
export type OriginalPhoto = z.infer<typeof OriginalPhoto>;

/** What viewer:original answers once the lookup that viewer:open started has finished. */
export const ViewerOriginal = z.object({
  /** null: no photo was proven to be the original (none there, other bytes, or the lookup failed). */
  original: OriginalPhoto.nullable(),
  /** Why the lookup could not finish (an unreadable folder or manifest), in words; [] when it did. */
  warnings: z.array(z.string()),
});
export type ViewerOriginal = z.infer<typeof ViewerOriginal>;

/** One side of a comparison, measured against the original. */
export const CompareSide = z.object({
  layer: ViewerLayer.exclude(['heat']),
  /** "sgai · sgai-msh-c64-l0067", "Original (JPEG)", "JPEG (mozjpeg q 43)". */
  label: z.string(),
  bytes: z.number(),
  bpp: z.number(),
  /** Against the original; null for the original itself. */
  psnr: z.number().nullable(),
  msssim: z.number().nullable(),
  /** For the JPEG: the mozjpeg quality its size search settled on. */
  jpegQuality: z.number().optional(),
});
export type CompareSide = z.infer<typeof CompareSide>;

export const ExportSettings = z.object({
  format: z.enum(['png', 'jpeg']),
  /** PNG only. */
  bitDepth: z.union([z.literal(8), z.literal(16)]),
  /** JPEG only, 1..100. */
  quality: z.number().int().min(1).max(100),
  /** What of the file's metadata (EXIF, XMP) to keep; the ICC profile is always kept. 'none' strips it. */
  metadata: z.enum(['all', 'no-location', 'copyright', 'none']),
  /** Resize so the long edge is at most this many pixels; null: full size. */
  longEdge: z.number().int().min(16).max(65535).nullable(),
  /** Folder the exported files go into (named <name>.png/.jpg, made unique when taken). */
  folder: Path,
});
export type ExportSettings = z.infer<typeof ExportSettings>;

export const ExportState = z.object({
  exportId: Id,
  state: z.enum(['running', 'done', 'cancelled', 'failed']),
  total: z.number(),
  done: z.number(),
  /** The file being decoded now. */
  current: Path.optional(),
  written: z.array(z.object({ source: Path, path: Path, bytes: z.number(), width: z.number(), height: z.number() })),
  failed: z.array(z.object({ source: Path, code: z.string(), message: z.string() })),
});
export type ExportState = z.infer<typeof ExportState>;
