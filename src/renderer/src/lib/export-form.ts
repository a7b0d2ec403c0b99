/**
 * The export dialog's form: a draft as typed (numbers as text, so a half-typed value is not lost),
 * checked into the contract's ExportSettings with a reason per field, and the last settings
 * remembered in localStorage so the next export starts from them. The destination starts as the
 * files' own folder; the last folder chosen is remembered to be offered, not imposed.
 */
import { z } from 'zod';
import { ExportSettings } from '../../../ipc/schemas';
import { isAbsolutePath } from './output-form';
import { commonFolder } from './sgai-paths';
import { exportStrings } from './strings-export';

export type ExportFormat = ExportSettings['format'];
export type ExportMetadata = ExportSettings['metadata'];

export interface ExportDraft {
  format: ExportFormat;
  bitDepth: 8 | 16;
  quality: string;
  metadata: ExportMetadata;
  resize: boolean;
  longEdge: string;
  folder: string;
}

export type ExportField = 'quality' | 'longEdge' | 'folder';
export type ExportChecked = { ok: true; value: ExportSettings } | { ok: false; errors: Partial<Record<ExportField, string>> };

export const DEFAULT_QUALITY = 92;
/** What the long-edge field proposes the first time resizing is turned on. */
export const DEFAULT_LONG_EDGE = 2048;
export const REMEMBER_KEY = 'sgai.export.last';

/** What is remembered between exports; anything unreadable (an older or edited value) falls back to the default. */
const Remembered = z.object({
  format: ExportSettings.shape.format.catch('png'),
  bitDepth: ExportSettings.shape.bitDepth.catch(8),
  quality: ExportSettings.shape.quality.catch(DEFAULT_QUALITY),
  metadata: ExportSettings.shape.metadata.catch('all'),
  resize: z.boolean().catch(false),
  longEdge: z.number().int().min(16).max(65535).catch(DEFAULT_LONG_EDGE),
  folder: z.string().min(1).nullable().catch(null),
});
export type Remembered = z.infer<typeof Remembered>;

export const DEFAULTS: Remembered = Remembered.parse({});

type Store = Pick<Storage, 'getItem' | 'setItem'>;

export function readRemembered(storage: Store | null): Remembered {
  let raw: unknown = {};
  try {
    raw = JSON.parse(storage?.getItem(REMEMBER_KEY) ?? '{}');
  } catch {
    // Unparseable: start from the defaults.
  }
  return Remembered.parse(raw && typeof raw === 'object' ? raw : {});
}

/** Remembers what was just exported with (a full-size export keeps the last long edge typed). */
export function remember(storage: Store | null, s: ExportSettings, previous: Remembered): void {
  const value: Remembered = {
    format: s.format,
    bitDepth: s.bitDepth,
    quality: s.quality,
    metadata: s.metadata,
    resize: s.longEdge !== null,
    longEdge: s.longEdge ?? previous.longEdge,
    folder: s.folder,
  };
  try {
    storage?.setItem(REMEMBER_KEY, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the export itself is not affected.
  }
}

/** The dialog's first draft for these files: the remembered choices, saving beside the files. */
export function draftFor(files: readonly string[], r: Remembered): ExportDraft {
  return {
    format: r.format,
    bitDepth: r.bitDepth,
    quality: String(r.quality),
    metadata: r.metadata,
    resize: r.resize,
    longEdge: String(r.longEdge),
    folder: commonFolder(files) ?? r.folder ?? '',
  };
}

function wholeNumber(text: string, lo: number, hi: number): number | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= lo && n <= hi ? n : null;
}

/** The settings the draft stands for, or why not (per field). Fields a format does not use are not held against it. */
export function checkExportDraft(d: ExportDraft): ExportChecked {
  const errors: Partial<Record<ExportField, string>> = {};
  const folder = d.folder.trim();
  if (!folder) errors.folder = exportStrings.invalid.folderRequired;
  else if (!isAbsolutePath(folder)) errors.folder = exportStrings.invalid.folderAbsolute;
  const quality = wholeNumber(d.quality, 1, 100);
  if (d.format === 'jpeg' && quality === null) errors.quality = exportStrings.invalid.quality;
  const longEdge = d.resize ? wholeNumber(d.longEdge, 16, 65535) : null;
  if (d.resize && longEdge === null) errors.longEdge = exportStrings.invalid.longEdge;
  if (Object.keys(errors).length) return { ok: false, errors };
  const value = ExportSettings.parse({
    format: d.format,
    bitDepth: d.bitDepth,
    quality: quality ?? DEFAULT_QUALITY,
    metadata: d.metadata,
    longEdge,
    folder,
  });
  return { ok: true, value };
}
