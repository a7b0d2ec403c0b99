/**
 * The library: the folders the user added, each with its output settings (persisted), its last
 * scan and its photos with their states (in memory). Scans stream `library:scan` counts; any
 * change to a folder's record is announced with `library:changed`.
 */
import { realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { isSgaiError, SgaiError } from '../../core';
import type { EventName, EventPayload } from '../../ipc/contract';
import { ApiError } from '../../ipc/result';
import type { AppSettings, LibraryFolder, NamePreviewRow, OutputSettings, PhotoRow } from '../../ipc/schemas';
import type { JobState } from '../events';
import { planBatch } from '../plan';
import { settingsKey } from '../run';
import { compareRel, emptyCounts, scanSources } from '../scan';
import { shortId } from './ids';
import type { JsonStore } from './json-store';
import type { StoredFolder, StoredLibrary } from './library-store';
import { batchSpecFor, checkOutputSettings, defaultOutputSettings, encodeSettingsFor, outRootOf } from './output-settings';
import { assignStates, countStates, type PhotoEntry } from './photo-states';
import { throttle } from './throttle';

/** Scan progress and batch-driven state changes reach the app at most this often. */
const SCAN_EVENT_MS = 250;
const CHANGED_EVENT_MS = 1000;
/** Warnings kept per scan (a folder of 50k unreadable files must not make a 50k-line event). */
const MAX_WARNINGS = 100;

export type Emit = <E extends EventName>(name: E, payload: EventPayload<E>) => void;

interface Folder {
  stored: StoredFolder;
  scan: LibraryFolder['scan'];
  rows: PhotoEntry[];
  index: Map<string, number>;
  scanCtrl?: AbortController;
  scanning?: Promise<void>;
  /** Photos the last batch skipped for a name conflict: no manifest line says so. */
  planSkips: Map<string, string>;
  changed: ReturnType<typeof throttle>;
}

const notFound = (what: string) => new ApiError({ code: 'NOT_FOUND', message: what });

export interface PhotoQuery {
  offset: number;
  limit: number;
  filter: 'all' | PhotoRow['state'];
  query?: string;
}

export class Library {
  private readonly folders = new Map<string, Folder>();

  constructor(private readonly deps: { store: JsonStore<StoredLibrary>; settings: () => AppSettings; emit: Emit; log: (line: string) => void }) {}

  /** Reads library.json and scans every folder in the background, one after another. */
  async load(): Promise<void> {
    const lib = await this.deps.store.load();
    for (const f of lib.folders) this.folders.set(f.id, this.fresh(f));
    void (async () => {
      for (const f of [...this.folders.values()]) await this.startScan(f).catch(() => undefined);
    })();
  }

  private fresh(stored: StoredFolder): Folder {
    const f: Folder = {
      stored, scan: { state: 'never', counts: emptyCounts(), bytes: 0 }, rows: [], index: new Map(), planSkips: new Map(),
      changed: throttle(() => this.folders.get(stored.id) === f && this.deps.emit('library:changed', this.view(f)), CHANGED_EVENT_MS),
    };
    return f;
  }

  private save(): Promise<void> {
    return this.deps.store.save({ version: 1, folders: [...this.folders.values()].map((f) => f.stored) });
  }

  private view(f: Folder): LibraryFolder {
    const c = f.scan.counts;
    return { id: f.stored.id, path: f.stored.path, output: f.stored.output, scan: { ...f.scan, counts: { ...c, warnings: c.warnings.slice(0, MAX_WARNINGS) } }, states: countStates(f.rows) };
  }

  private need(id: string): Folder {
    const f = this.folders.get(id);
    if (!f) throw notFound(`no library folder with id ${id}: it may have been removed`);
    return f;
  }

  list(): LibraryFolder[] {
    return [...this.folders.values()].map((f) => this.view(f));
  }

  get(id: string): LibraryFolder {
    return this.view(this.need(id));
  }

  /** The folder's path and settings as saved (what a batch runs with). */
  stored(id: string): StoredFolder {
    return this.need(id).stored;
  }

  has(id: string): boolean {
    return this.folders.has(id);
  }

  async add(path: string, output?: OutputSettings): Promise<LibraryFolder> {
    const real = await realFolderOrRefuse(path);
    const known = [...this.folders.values()].find((f) => f.stored.path === real);
    if (known) return this.view(known);
    const settings = output ?? defaultOutputSettings(real, this.deps.settings().defaultOutput);
    await checkOutputSettings(real, settings);
    const f = this.fresh({ id: shortId(), path: real, output: settings });
    this.folders.set(f.stored.id, f);
    await this.save();
    f.scan = { state: 'scanning', counts: emptyCounts(), bytes: 0 };
    void this.startScan(f);
    return this.view(f);
  }

  async remove(id: string): Promise<boolean> {
    const f = this.folders.get(id);
    if (!f) return false;
    f.scanCtrl?.abort();
    f.changed.cancel();
    this.folders.delete(id);
    await this.save();
    return true;
  }

  async update(id: string, output: OutputSettings): Promise<LibraryFolder> {
    const f = this.need(id);
    await checkOutputSettings(f.stored.path, output);
    const before = f.stored.output;
    f.stored = { ...f.stored, output };
    await this.save();
    f.planSkips.clear();
    // What is scanned depends on the filters and (mirror layout) on the output root left out.
    const rescan = JSON.stringify([before.include, before.exclude, before.destination]) !== JSON.stringify([output.include, output.exclude, output.destination]);
    if (rescan) void this.startScan(f);
    else await this.refreshStates(id);
    return this.view(f);
  }

  /** Starts a new scan (a running one is dropped); resolves when it has started. */
  scan(id: string): { started: boolean } {
    void this.startScan(this.need(id));
    return { started: true };
  }

  /** Waits for the folder's current scan (tests, estimate, batches that need rows). */
  async settled(id: string): Promise<void> {
    const f = this.need(id);
    if (f.scan.state === 'never') await this.startScan(f);
    while (f.scanning) await f.scanning;
  }

  private startScan(f: Folder): Promise<void> {
    f.scanCtrl?.abort();
    const ctrl = new AbortController();
    f.scanCtrl = ctrl;
    const run = this.runScan(f, ctrl.signal).finally(() => {
      if (f.scanning === run) f.scanning = undefined;
    });
    f.scanning = run;
    return run;
  }

  private async runScan(f: Folder, signal: AbortSignal): Promise<void> {
    const { path, output } = f.stored;
    const counts = emptyCounts();
    let bytes = 0;
    const id = f.stored.id;
    const progress = (done: boolean, error?: string) =>
      this.deps.emit('library:scan', { folderId: id, counts: { ...counts, warnings: counts.warnings.slice(0, MAX_WARNINGS) }, bytes, done, ...(error ? { error } : {}) });
    const tick = throttle(() => progress(false), SCAN_EVENT_MS);
    f.scan = { state: 'scanning', counts, bytes: 0 };
    this.deps.emit('library:changed', this.view(f));
    const rows: PhotoEntry[] = [];
    try {
      await realFolderOrRefuse(path);
      const skipFolders = output.destination.kind === 'folder' ? [outRootOf(path, output)] : [];
      for await (const s of scanSources([path], { include: output.include, exclude: output.exclude, skipFolders, counts, signal })) {
        rows.push({ rel: s.rel, bytes: s.size, mtimeMs: s.mtimeMs, state: 'new' });
        bytes += s.size;
        tick.call();
      }
      rows.sort((a, b) => compareRel(a.rel, b.rel)); // the batch's order
      await this.assign(f, rows, signal);
      if (signal.aborted) return;
      tick.cancel();
      f.rows = rows;
      f.index = new Map(rows.map((r, i) => [r.rel, i]));
      f.scan = { state: 'done', counts, bytes };
      progress(true);
    } catch (e) {
      tick.cancel();
      if (signal.aborted) return; // a newer scan took over, or the folder was removed
      const message = isSgaiError(e) || e instanceof ApiError ? e.message : `the scan stopped: ${(e as Error).message}`;
      f.scan = { state: 'failed', counts, bytes, error: message };
      progress(true, message);
    }
    if (this.folders.get(id) === f) this.deps.emit('library:changed', this.view(f));
  }

  private async assign(f: Folder, rows: PhotoEntry[], signal?: AbortSignal): Promise<void> {
    const { path, output } = f.stored;
    let key: string | undefined;
    try {
      key = settingsKey(encodeSettingsFor(output).settings);
    } catch (e) {
      this.deps.log(`warning: ${path}: cannot tell which photos are up to date (${(e as Error).message})`);
    }
    const r = await assignStates({ folder: path, outRoot: outRootOf(path, output), rows, key, planSkips: f.planSkips, signal });
    if (r.badLines) this.deps.log(`note: ${r.badLines} unreadable line(s) in the manifest of ${outRootOf(path, output)} were ignored`);
  }

  /** States again from the manifest (after a batch, or a settings change); the photo list stays. */
  async refreshStates(id: string): Promise<void> {
    const f = this.folders.get(id);
    if (!f) return;
    if (f.scanning) await f.scanning.catch(() => undefined);
    await this.assign(f, f.rows).catch((e) => this.deps.log(`warning: ${f.stored.path}: photo states not updated (${(e as Error).message})`));
    f.changed.cancel();
    if (this.folders.get(id) === f) this.deps.emit('library:changed', this.view(f));
  }

  /** A batch of this folder is starting: last batch's name-conflict skips are forgotten. */
  batchStarting(id: string): void {
    this.folders.get(id)?.planSkips.clear();
  }

  /** A photo of a running batch finished: its row follows at once, the folder's record at most once a second. */
  onJobState(id: string, outRoot: string, e: JobState): void {
    const f = this.folders.get(id);
    const i = f?.index.get(e.id);
    if (!f || i === undefined) return;
    const row = f.rows[i];
    if (e.state === 'done') {
      row.state = 'done';
      row.output = e.output ? relative(outRoot, e.output).split(sep).join('/') : row.output;
      row.bytesOut = e.bytesOut;
      row.reason = e.reason;
    } else if (e.state === 'failed') {
      row.state = 'failed';
      row.reason = e.error?.message ?? 'failed';
    } else if (e.state === 'skipped') {
      row.state = 'skipped';
      row.reason = e.reason;
      // Skipped by the plan (a name conflict): its output is named, and no manifest line will say so.
      if (e.output) f.planSkips.set(e.id, e.reason ?? 'skipped');
    } else return;
    f.changed.call();
  }

  photos(id: string, q: PhotoQuery): { total: number; rows: PhotoRow[] } {
    const f = this.need(id);
    const needle = q.query?.toLowerCase();
    const match = (r: PhotoEntry) => (q.filter === 'all' || r.state === q.filter) && (!needle || r.rel.toLowerCase().includes(needle));
    const all = q.filter === 'all' && !needle ? f.rows : f.rows.filter(match);
    const outRoot = outRootOf(f.stored.path, f.stored.output);
    // Done photos carry their .sgai's absolute path, so the viewer can open it from the row.
    const row = (r: PhotoEntry): PhotoRow => (r.state === 'done' && r.output ? { ...r, outputPath: join(outRoot, ...r.output.split('/')) } : { ...r });
    return { total: all.length, rows: all.slice(q.offset, q.offset + q.limit).map(row) };
  }

  /** A photo of the folder's last scan (never anything else: the thumbnail route reads only these). */
  photo(id: string, rel: string): { abs: string; bytes: number; mtimeMs: number } | undefined {
    const f = this.folders.get(id);
    const i = f?.index.get(rel);
    if (!f || i === undefined) return undefined;
    const r = f.rows[i];
    return { abs: join(f.stored.path, ...rel.split('/')), bytes: r.bytes, mtimeMs: r.mtimeMs };
  }

  /** The first target names under some (possibly unsaved) settings: planned, nothing written. */
  async previewNames(id: string, output: OutputSettings, limit: number): Promise<{ rows: NamePreviewRow[]; total: number; skips: number }> {
    const f = this.need(id);
    await checkOutputSettings(f.stored.path, output);
    const plan = await planBatch(batchSpecFor(f.stored.path, output));
    const rows = plan.jobs.slice(0, limit).map((j) => ({ source: j.source.rel, target: j.output, action: j.action, ...(j.reason ? { reason: j.reason } : {}) }));
    return { rows, total: plan.jobs.length, skips: plan.jobs.filter((j) => j.action === 'skip').length };
  }

  close(): void {
    for (const f of this.folders.values()) {
      f.scanCtrl?.abort();
      f.changed.cancel();
    }
  }
}

/** The folder's real path; a file, a missing folder or one that cannot be opened is refused in words. */
async function realFolderOrRefuse(path: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SgaiError('INPUT_UNREADABLE', code === 'ENOENT' ? `${path} does not exist (was it moved, renamed, or is its drive disconnected?)` : `cannot open ${path}: ${(e as Error).message}`);
  }
  const st = await stat(real).catch((e: Error) => {
    throw new SgaiError('INPUT_UNREADABLE', `cannot open ${path}: ${e.message}`);
  });
  if (!st.isDirectory()) throw new SgaiError('INPUT_UNREADABLE', `${path} is a file, not a folder: add the folder that holds your photos`);
  return real;
}

