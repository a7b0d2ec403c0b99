/**
 * export:start / export:cancel: .sgai files decoded to PNG (8/16-bit) or JPEG in a chosen folder.
 * Each file is decoded exactly (the reference wasm g_s, so an export is the same on every machine)
 * in a decoder process of its own, so the viewer stays responsive; one export runs at a time and
 * later ones wait in order. Each file goes through core's safe writer under a name that is free
 * (never replacing a file); a file that fails is listed with its error and the export goes on; a
 * cancel stops the running decode or write (nothing partial is left) and starts nothing more.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeSgai, preflightOutput, SgaiError, writeImageFile, type RasterImage } from '../../../core';
import { applyMetadataPolicy } from '../../../core/image/metadata-policy';
import type { ExportSettings, ExportState } from '../../../ipc/schemas';
import { shortId } from '../ids';
import { DecoderProcess } from './decoder-process';
import { exportExtension, exportStem, fitLongEdge, uniqueExportPath } from './export-naming';

interface Job {
  state: ExportState;
  files: string[];
  settings: ExportSettings;
  abort: AbortController;
}

export interface ExportsOptions {
  emit: (name: 'export:state', payload: ExportState) => void;
  log: (line: string) => void;
  /** The decoder process's entry (a built app passes its own; default: from sources). */
  entry?: string;
}

const snapshot = (s: ExportState): ExportState => structuredClone(s);

/** An error's code and message for the failed list: ours keep their code, anything else is a bug's. */
function describe(e: unknown): { code: string; message: string } {
  const code = e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string' ? (e as { code: string }).code : 'UNEXPECTED';
  return { code, message: e instanceof Error ? e.message : String(e) };
}

async function readSgai(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'the file does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message;
    throw new SgaiError('INPUT_UNREADABLE', `Cannot open "${path}": ${why}.`, { cause: e });
  }
}

/** The export folder is a folder (after the attempt to make it), or an error that says what is in the way. */
async function assertFolder(folder: string): Promise<void> {
  let why: string | null = null;
  try {
    if (!(await stat(folder)).isDirectory()) why = 'it is a file, not a folder';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    why = code === 'ENOTDIR' ? 'a part of the path is a file, not a folder'
      : code === 'ENOENT' ? 'it does not exist and could not be made'
      : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
  }
  if (why) throw new SgaiError('IO', `Cannot export into "${folder}": ${why}. Choose another folder.`);
}

/** Shrinks to the export's long edge (lanczos3), keeping the bit depth. */
async function resize(img: RasterImage, width: number, height: number): Promise<RasterImage> {
  const sixteen = img.bitDepth === 16;
  const buf = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 }, limitInputPixels: false })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw({ depth: sixteen ? 'ushort' : 'uchar' })
    .toBuffer();
  // Copy: a Uint16Array view needs an even offset, and the buffer may be a view into a pool.
  const data = sixteen ? new Uint16Array(new Uint8Array(buf).buffer) : new Uint8Array(buf);
  return { width, height, bitDepth: img.bitDepth, data };
}

export class Exports {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private running: Promise<void> | undefined;
  private decoder: DecoderProcess | undefined;
  private closed = false;

  constructor(private readonly o: ExportsOptions) {}

  /** Queues an export; it starts when the ones before it are finished. Events follow. */
  start(files: string[], settings: ExportSettings): ExportState {
    if (this.closed) throw new SgaiError('CANCELLED', 'the engine is shutting down; export again after it restarts');
    const job: Job = {
      state: { exportId: shortId(), state: 'running', total: files.length, done: 0, written: [], failed: [] },
      files: [...files],
      settings,
      abort: new AbortController(),
    };
    this.jobs.set(job.state.exportId, job);
    this.queue.push(job);
    this.pump();
    return snapshot(job.state);
  }

  /** Cancels a running or waiting export; false when there is none by that id (unknown or finished). */
  cancel(exportId: string): boolean {
    const job = this.jobs.get(exportId);
    if (!job) return false;
    job.abort.abort();
    const waiting = this.queue.indexOf(job);
    if (waiting >= 0) {
      this.queue.splice(waiting, 1);
      this.finish(job);
    }
    return true;
  }

  /** Cancels everything (nothing partial is left) and ends the decoder process. */
  async shutdown(): Promise<void> {
    this.closed = true;
    for (const job of [...this.jobs.values()]) this.cancel(job.state.exportId);
    await this.running;
    const d = this.decoder;
    this.decoder = undefined;
    await d?.close();
  }

  private pump(): void {
    if (this.running) return;
    const job = this.queue.shift();
    if (!job) return;
    this.running = this.run(job)
      .catch((e: unknown) => this.o.log(`bug: export ${job.state.exportId} stopped: ${(e as Error).stack ?? String(e)}`))
      .finally(() => {
        this.running = undefined;
        this.pump();
      });
  }

  private emit(job: Job): void {
    this.o.emit('export:state', snapshot(job.state));
  }

  private finish(job: Job): void {
    const s = job.state;
    delete s.current;
    s.state = job.abort.signal.aborted ? 'cancelled' : s.written.length === 0 && s.failed.length > 0 ? 'failed' : 'done';
    this.jobs.delete(s.exportId);
    this.emit(job);
  }

  private async run(job: Job): Promise<void> {
    const signal = job.abort.signal;
    for (const file of job.files) {
      if (signal.aborted) break;
      job.state.current = file;
      this.emit(job);
      try {
        job.state.written.push(await this.exportOne(file, job.settings, signal));
      } catch (e) {
        if (signal.aborted) break; // the cancel, not the file: it is neither written nor failed
        const { code, message } = describe(e);
        job.state.failed.push({ source: file, code, message });
        this.o.log(`export ${job.state.exportId}: ${file} failed (${code}): ${message}`);
      }
      job.state.done++;
      delete job.state.current;
      this.emit(job);
    }
    this.finish(job);
  }

  private decoderProcess(): DecoderProcess {
    // Exports decode exactly (wasm g_s) whatever the backend, so the process needs no faster one.
    this.decoder ??= new DecoderProcess({ log: this.o.log, entry: this.o.entry, backend: 'wasm' });
    return this.decoder;
  }

  private async exportOne(file: string, settings: ExportSettings, signal: AbortSignal): Promise<ExportState['written'][number]> {
    // Parsed here first: a damaged file fails with its own words before any process starts, and
    // the metadata to write back comes from it.
    const parsed = decodeSgai(await readSgai(file));
    const format = settings.format;
    const bitDepth: 8 | 16 = format === 'png' ? settings.bitDepth : 8;
    // A folder typed for the export (or one removed since it was picked) is made, parents too, as
    // export dialogs do; one that cannot be made is explained by the check below.
    await mkdir(settings.folder, { recursive: true }).catch(() => undefined);
    await assertFolder(settings.folder);
    // The name is chosen and the folder checked before the decode: a read-only folder fails in a moment.
    const path = await uniqueExportPath(settings.folder, exportStem(file), exportExtension(format));
    const target = await preflightOutput(path, { force: false, inputs: [file] });

    let image = await this.decoderProcess().decode(file, { exact: true, bitDepth, signal });
    const size = fitLongEdge(image.width, image.height, settings.longEdge);
    if (size.width !== image.width || size.height !== image.height) image = await resize(image, size.width, size.height);

    // The ICC profile is colour, not personal data: always kept. EXIF/XMP as the settings say.
    const { exif, xmp } = settings.metadata === 'none' ? {} : applyMetadataPolicy({ exif: parsed.exif, xmp: parsed.xmp }, settings.metadata);
    await writeImageFile(target, image, {
      format, bitDepth: format === 'png' ? bitDepth : undefined, quality: format === 'jpeg' ? settings.quality : undefined,
      icc: parsed.icc, exif, xmp, inputs: [file], signal,
    });
    return { source: file, path: target.path, bytes: (await stat(target.path)).size, width: image.width, height: image.height };
  }
}
