/**
 * The engine service: every contract channel whose `where` is 'engine', answered in plain Node
 * on top of the batch engine. The process around it (process.ts) only moves messages; tests
 * drive this directly. Requests are validated again here (whoever sent them), answers are
 * Result envelopes, and every event is checked against its schema before it leaves.
 */
import type { z } from 'zod';
import { describeBackend, isSgaiError } from '../../core';
import { type EventName, type EventPayload, events, type Invoke, invoke, type InvokeName, type PixelRoute, pixels } from '../../ipc/contract';
import { ApiError, fail, failFrom, ok, type Result } from '../../ipc/result';
import { AppSettings } from '../../ipc/schemas';
import { appInfoSource } from './app-info';
import { backendKeeper, coreBackend } from './backend';
import { Batches } from './batches';
import { estimateFolder } from './estimate';
import { Library } from './library';
import { libraryStore } from './library-store';
import { outRootOf } from './output-settings';
import { settingsStore } from './settings-store';
import { SharedPool } from './shared-pool';
import { Thumbnails } from './thumbs';
import { Comparisons } from './viewer/compare';
import { DecoderProcess } from './viewer/decoder-process';
import { Exports } from './viewer/export-jobs';
import { ViewerFiles } from './viewer/files';
import { findOriginal } from './viewer/find-original';

export interface EngineServiceOptions {
  /** Where settings.json and library.json live. */
  dataDir: string;
  transport: 'electron' | 'browser';
  version: string;
  /** Contract events, already validated. */
  emit: (name: EventName, payload: unknown) => void;
  /** Folders to add at start (`sgai app --browser FOLDER`). */
  addFolders?: string[];
  /** The folder whose batch was running when the previous engine process died: started again at once. */
  resumeFolderId?: string;
  /** The folder whose batch runs now, or null. */
  onRunning?: (folderId: string | null) => void;
  /** One line per warning or failure worth keeping (default: stderr). */
  log?: (line: string) => void;
}

export interface EngineService {
  invoke(channel: string, raw: unknown): Promise<Result<unknown>>;
  pixels(route: string, raw: unknown): Promise<{ ok: true; bytes: Uint8Array<ArrayBuffer>; mime: string } | { ok: false; error: { code: string; message: string } }>;
  /** Cancels running and waiting batches and exports (nothing partial is left), ends the encoder and decoder processes and scans. */
  shutdown(): Promise<void>;
}

/** Bytes on an ArrayBuffer of their own (what the pixel answer's type asks for), copied only when they are not. */
const ownBuffer = (b: Uint8Array): Uint8Array<ArrayBuffer> =>
  b.buffer instanceof ArrayBuffer ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);

type EngineName = { [K in InvokeName]: Invoke[K]['where'] extends 'engine' ? K : never }[InvokeName];
type Parsed<K extends InvokeName> = z.infer<Invoke[K]['req']>;
type Answer<K extends InvokeName> = z.infer<Invoke[K]['res']>;
/** One handler per engine channel: a channel added to the contract without one does not compile. */
type Handlers = { [K in EngineName]: (req: Parsed<K>) => Promise<Answer<K>> };

const engineNames = (Object.keys(invoke) as InvokeName[]).filter((k): k is EngineName => invoke[k].where === 'engine');
const byChannel = new Map<string, EngineName>(engineNames.map((k) => [invoke[k].channel, k]));
const hostChannels = new Set((Object.keys(invoke) as InvokeName[]).filter((k) => invoke[k].where === 'host').map((k) => invoke[k].channel));

export async function createEngineService(o: EngineServiceOptions): Promise<EngineService> {
  const log = o.log ?? ((line: string) => process.stderr.write(`sgai engine: ${line}\n`));
  const emit = <E extends EventName>(name: E, payload: EventPayload<E>) => {
    const r = events[name].safeParse(payload);
    if (r.success) o.emit(name, r.data);
    else log(`bug: a ${name} event did not match its schema and was not sent (${r.error.message.slice(0, 500)})`);
  };

  const settingsFile = settingsStore(o.dataDir, log);
  let settings = await settingsFile.load();
  const current = () => settings;
  const ensureBackend = backendKeeper(current);
  const library = new Library({ store: libraryStore(o.dataDir, log), settings: current, emit, log });
  await library.load();
  const pool = new SharedPool((e) => {
    if (e.type === 'worker:ready') log(`encoder process ${e.worker + 1} ready (pid ${e.pid}, ${e.backend})`);
    else if (e.type === 'worker:lost') log(`encoder process ${e.worker + 1} ${e.reason}${e.id ? ` while encoding ${e.id}` : ''}${e.detail ? ` (${e.detail})` : ''}`);
  });
  const batches = new Batches({ library, settings: current, pool, emit, onRunning: o.onRunning ?? (() => undefined), ensureBackend, log });
  const appInfo = appInfoSource({ version: o.version, transport: o.transport, ensureBackend, log });
  const thumbs = new Thumbnails();
  // The viewer decodes in a process of its own (the engine keeps answering meanwhile); exports have another.
  const viewerDecoder = new DecoderProcess({ log, backend: () => coreBackend(settings.backend) });
  const viewer = new ViewerFiles({
    decoder: viewerDecoder,
    log,
    findOriginal,
    libraries: () => library.list().map((f) => ({ folder: f.path, outRoot: outRootOf(f.path, f.output) })),
  });
  const comparisons = new Comparisons({ files: viewer, log });
  const exports = new Exports({ emit, log });

  const handlers: Handlers = {
    appInfo: () => appInfo(),
    settingsGet: async () => settings,
    settingsSet: async (req) => {
      const next = AppSettings.parse({ ...settings, ...req });
      await settingsFile.save(next);
      const backendChanged = next.backend !== settings.backend;
      settings = next;
      if (backendChanged) {
        await ensureBackend().then((r) => log(`backend: ${describeBackend(r)}`), (e) => log(`warning: backend ${next.backend}: ${(e as Error).message}`));
        await viewerDecoder.restart();
      }
      return settings;
    },
    libraryList: async () => library.list(),
    libraryAdd: (req) => library.add(req.path, req.output),
    libraryRemove: async (req) => {
      if (library.has(req.folderId)) batches.cancelFolder(req.folderId);
      return { removed: await library.remove(req.folderId) };
    },
    libraryUpdate: (req) => library.update(req.folderId, req.output),
    libraryScan: async (req) => library.scan(req.folderId),
    libraryPhotos: async (req) => library.photos(req.folderId, req),
    libraryPreviewNames: (req) => library.previewNames(req.folderId, req.output, req.limit),
    estimate: async (req) => estimateFolder(library.stored(req.folderId).path, req.output, settings, ensureBackend),
    jobsStart: async (req) => batches.start(req.folderId),
    jobsList: async () => batches.list(),
    jobsRows: async (req) => batches.rows(req.batchId, req.offset, req.limit),
    jobsPause: async () => batches.pause(),
    jobsResume: async () => batches.resume(),
    jobsCancel: async (req) => batches.cancel(req.batchId, req.id),
    jobsRetry: async (req) => batches.retry(req.batchId),
    jobsReport: (req) => batches.report(req.batchId, req.format),
    viewerOpen: (req) => viewer.open(req.path),
    viewerOriginal: (req) => viewer.original(req.path),
    viewerCompare: (req) => comparisons.compare(req.path, req.against),
    viewerClose: async (req) => {
      const closed = viewer.close(req.path);
      comparisons.close(req.path);
      return { closed };
    },
    exportStart: async (req) => exports.start(req.files, req.settings),
    exportCancel: async (req) => ({ cancelled: exports.cancel(req.exportId) }),
  };

  /** Image bytes by pixel route; the answer's mime is the real type (a preview may be WebP or JPEG). */
  async function pixelsOf(route: PixelRoute, raw: unknown): Promise<{ bytes: Uint8Array<ArrayBuffer>; mime: string }> {
    switch (route) {
      case 'thumb': {
        const req = pixels.thumb.req.parse(raw);
        const photo = library.photo(req.folderId, req.rel);
        if (!photo) throw new ApiError({ code: 'NOT_FOUND', message: `${req.rel} is not a scanned photo of this library folder` });
        return { bytes: await thumbs.get(photo), mime: pixels.thumb.mime };
      }
      case 'viewer-preview':
        return viewer.preview(pixels['viewer-preview'].req.parse(raw).path);
      case 'viewer-tile': {
        const req = pixels['viewer-tile'].req.parse(raw);
        const bytes = req.layer === 'sgai' ? await viewer.tile(req.path, req.level, req.tx, req.ty) : await comparisons.tile(req.path, req.layer, req.level, req.tx, req.ty);
        return { bytes: ownBuffer(bytes), mime: pixels['viewer-tile'].mime };
      }
    }
  }

  async function call<K extends EngineName>(name: K, raw: unknown): Promise<Result<unknown>> {
    try {
      const req = invoke[name].req.parse(raw) as Parsed<K>;
      const value = await handlers[name](req);
      const checked = invoke[name].res.safeParse(value);
      if (!checked.success) {
        log(`bug: the answer to ${invoke[name].channel} did not match the contract (${checked.error.message.slice(0, 500)})`);
        return fail('UNEXPECTED', `the engine's answer to ${invoke[name].channel} was malformed (a bug); please report it`);
      }
      return ok(checked.data);
    } catch (e) {
      const r = failFrom(e);
      if (!r.ok && r.error.code === 'UNEXPECTED') log(`unexpected error on ${invoke[name].channel}: ${(e as Error)?.stack ?? String(e)}`);
      return r;
    }
  }

  for (const path of o.addFolders ?? []) {
    await library.add(path).catch((e) => log(`warning: could not add ${path}: ${(e as Error).message}`));
  }
  if (o.resumeFolderId) {
    if (library.has(o.resumeFolderId)) batches.start(o.resumeFolderId, { resumedAfterRestart: true });
    else log(`warning: the batch to resume belongs to a folder no longer in the library (${o.resumeFolderId})`);
  }

  let stopping: Promise<void> | undefined;
  return {
    invoke(channel, raw) {
      const name = byChannel.get(channel);
      if (name) return call(name, raw);
      const why = hostChannels.has(channel) ? `${channel} is answered by the app, not the engine` : `unknown channel ${channel}`;
      return Promise.resolve(fail('BAD_REQUEST', why));
    },
    async pixels(route, raw) {
      try {
        if (!Object.hasOwn(pixels, route)) throw new ApiError({ code: 'BAD_REQUEST', message: `unknown pixel route ${route}` });
        return { ok: true as const, ...(await pixelsOf(route as PixelRoute, raw)) };
      } catch (e) {
        const r = failFrom(e);
        if (!r.ok && r.error.code === 'UNEXPECTED' && !isSgaiError(e)) log(`unexpected error on pixels ${route}: ${(e as Error)?.stack ?? String(e)}`);
        return r as { ok: false; error: { code: string; message: string } };
      }
    },
    shutdown() {
      stopping ??= (async () => {
        library.close();
        await Promise.all([batches.shutdown(), exports.shutdown(), viewerDecoder.close()]);
      })();
      return stopping;
    },
  };
}
