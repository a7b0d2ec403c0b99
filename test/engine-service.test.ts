/**
 * The engine service on real folders: adding and scanning (events, counts), photo pages and
 * queries, name previews (nothing written), the estimate against real encodes, thumbnails, and
 * the settings and library files across service instances (a damaged library.json too).
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFile, initBackend, loadModel } from '../src/core';
import { compactFamily, EFFORT_IDS, EFFORTS, PRESET_IDS, PRESETS, resolvePreset } from '../src/engine';
import { invoke } from '../src/ipc/contract';
import { AppInfo, Effort, Estimate, PresetId } from '../src/ipc/schemas';
import { makePhoto } from './engine-fixtures';
import { outputTo, startService, type TestService } from './engine-service-helpers';
import { listFiles, tempDir } from './helpers';

const PHOTOS = ['4.jpg', 'a/1.jpg', 'a/2.png', 'b/3.jpg', 'b/c/5.webp'];

describe('engine service: library, estimate, thumbnails, settings', () => {
  let lib: string;
  let data: string;
  let t: TestService;
  const services: TestService[] = [];

  beforeAll(async () => {
    lib = await realpath(tempDir('sgai-svc-lib-'));
    for (const [i, rel] of PHOTOS.entries()) await makePhoto(join(lib, rel), { seed: i + 1 });
    writeFileSync(join(lib, 'a', '1.xmp'), '<x/>'); // a sidecar
    writeFileSync(join(lib, 'notes.txt'), 'not a photo');
    await makePhoto(join(lib, '.hidden.jpg'));
    data = tempDir('sgai-svc-data-');
    t = await startService(data);
    services.push(t);
  });
  afterAll(async () => {
    for (const s of services) await s.svc.shutdown();
  });

  it('adds a folder (refusing files and missing folders), scans it with live counts, and pages its photos', async () => {
    const folder = await t.call('libraryAdd', { path: join(lib, '.', 'a', '..') });
    expect(folder.path).toBe(lib);
    // Default output: '<folder> (sgai)' beside it, mirrored, balanced preset.
    expect(folder.output).toMatchObject({ destination: { kind: 'folder', path: join(dirname(lib), `${basename(lib)} (sgai)`) }, keepTree: true, conflict: 'unique', quality: { kind: 'preset', preset: 'balanced' } });
    expect((await t.call('libraryAdd', { path: lib })).id).toBe(folder.id); // adding it again returns it

    const fileRefused = await t.svc.invoke(invoke.libraryAdd.channel, { path: join(lib, '4.jpg') });
    expect(fileRefused).toMatchObject({ ok: false, error: { code: 'INPUT_UNREADABLE' } });
    expect(!fileRefused.ok && fileRefused.error.message).toMatch(/is a file, not a folder/);
    const missing = await t.svc.invoke(invoke.libraryAdd.channel, { path: join(lib, 'gone') });
    expect(missing).toMatchObject({ ok: false, error: { code: 'INPUT_UNREADABLE' } });
    expect(await t.svc.invoke(invoke.libraryAdd.channel, { path: 'relative\0path' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });

    await t.until(() => t.of('library:scan').find((e) => e.folderId === folder.id && e.done), 'the scan to finish');
    const last = t.of('library:scan').filter((e) => e.folderId === folder.id).at(-1)!;
    expect(last.counts).toMatchObject({ photos: 5, sidecars: 1, hidden: 1, other: 1 });
    expect(last.bytes).toBe(PHOTOS.reduce((a, p) => a + readFileSync(join(lib, p)).length, 0));
    const changed = t.of('library:changed').filter((f) => f.id === folder.id).at(-1)!;
    expect(changed.scan.state).toBe('done');
    expect(changed.states).toEqual({ new: 5, done: 0, failed: 0, skipped: 0, 'out-of-date': 0 });

    const all = await t.call('libraryPhotos', { folderId: folder.id, offset: 0, limit: 100, filter: 'all' });
    expect(all.rows.map((r) => r.rel)).toEqual(['4.jpg', 'a/1.jpg', 'a/2.png', 'b/3.jpg', 'b/c/5.webp']); // the batch's order
    expect(all.rows.every((r) => r.state === 'new' && r.bytes > 0 && r.mtimeMs > 0)).toBe(true);
    const page = await t.call('libraryPhotos', { folderId: folder.id, offset: 1, limit: 2, filter: 'all' });
    expect(page).toEqual({ total: 5, rows: all.rows.slice(1, 3) });
    const q = await t.call('libraryPhotos', { folderId: folder.id, offset: 0, limit: 10, filter: 'all', query: 'B/' });
    expect(q.rows.map((r) => r.rel)).toEqual(['b/3.jpg', 'b/c/5.webp']);
    expect((await t.call('libraryPhotos', { folderId: folder.id, offset: 0, limit: 10, filter: 'done' })).total).toBe(0);
    expect(await t.svc.invoke(invoke.libraryPhotos.channel, { folderId: 'nope', offset: 0, limit: 10, filter: 'all' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });

    // An output folder inside the library is not scanned; the filters apply.
    const inside = outputTo(join(lib, 'out'), { exclude: ['*.png'] });
    await mkdir(join(lib, 'out'), { recursive: true });
    await makePhoto(join(lib, 'out', 'looks-like-a-photo.jpg'));
    const n = t.of('library:scan').length;
    const updated = await t.call('libraryUpdate', { folderId: folder.id, output: inside });
    expect(updated.output.exclude).toEqual(['*.png']);
    await t.until(() => t.of('library:scan').slice(n).find((e) => e.folderId === folder.id && e.done), 'the rescan');
    const rescan = t.of('library:scan').filter((e) => e.folderId === folder.id).at(-1)!;
    expect(rescan.counts).toMatchObject({ photos: 4, excluded: 1, outputRoots: 1 });
    // A folder's output cannot be the folder itself.
    expect(await t.svc.invoke(invoke.libraryUpdate.channel, { folderId: folder.id, output: outputTo(lib) })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect((await t.call('libraryRemove', { folderId: folder.id })).removed).toBe(true);
    expect(await t.call('libraryList', {})).toEqual([]);
    expect((await t.call('libraryRemove', { folderId: folder.id })).removed).toBe(false);
    rmSync(join(lib, 'out'), { recursive: true });
  });

  it('previews target names under unsaved settings without writing anything', async () => {
    const out = join(tempDir('sgai-svc-out-'), 'new-output');
    const folder = await t.call('libraryAdd', { path: lib, output: outputTo(out) });
    const mirror = await t.call('libraryPreviewNames', { folderId: folder.id, output: outputTo(out), limit: 3 });
    expect(mirror.total).toBe(5);
    expect(mirror.skips).toBe(0);
    expect(mirror.rows).toEqual([
      { source: '4.jpg', target: join(out, '4.sgai'), action: 'write' },
      { source: 'a/1.jpg', target: join(out, 'a', '1.sgai'), action: 'write' },
      { source: 'a/2.png', target: join(out, 'a', '2.sgai'), action: 'write' },
    ]);
    const flat = await t.call('libraryPreviewNames', { folderId: folder.id, output: outputTo(out, { keepTree: false, template: '{n}-{name}' }), limit: 100 });
    expect(flat.rows.map((r) => basename(r.target))).toEqual(['1-4.sgai', '2-1.sgai', '3-2.sgai', '4-3.sgai', '5-5.sgai']);
    const beside = await t.call('libraryPreviewNames', { folderId: folder.id, output: outputTo(out, { destination: { kind: 'beside', suffix: '-small' } }), limit: 2 });
    expect(beside.rows[1].target).toBe(join(lib, 'a', '1-small.sgai'));
    // A file sgai did not write is never replaced: with conflict 'skip' the photo is skipped, with the reason.
    await mkdir(join(out, 'a'), { recursive: true });
    writeFileSync(join(out, 'a', '1.sgai'), 'someone else\'s file');
    const skip = await t.call('libraryPreviewNames', { folderId: folder.id, output: outputTo(out, { conflict: 'skip' }), limit: 5 });
    expect(skip.skips).toBe(1);
    expect(skip.rows[1]).toMatchObject({ source: 'a/1.jpg', action: 'skip', reason: expect.stringMatching(/not written by sgai/) });
    const unique = await t.call('libraryPreviewNames', { folderId: folder.id, output: outputTo(out), limit: 5 });
    expect(unique.rows[1].target).toBe(join(out, 'a', '1 (2).sgai'));
    expect(listFiles(out)).toEqual(['a/1.sgai']); // only what the test wrote
    const bad = await t.svc.invoke(invoke.libraryPreviewNames.channel, { folderId: folder.id, output: outputTo(out, { template: '{nope}' }), limit: 5 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    await t.call('libraryRemove', { folderId: folder.id });
  });

  it('estimates size and time as ranges that hold the real encoded size', async () => {
    await initBackend('wasm');
    await t.call('settingsSet', { workers: 1 }); // the time range divides by the workers
    const out = tempDir('sgai-svc-est-');
    const folder = await t.call('libraryAdd', { path: lib, output: outputTo(out) });
    const est = Estimate.parse(await t.call('estimate', { folderId: folder.id, output: outputTo(out) }));
    expect(est).toMatchObject({ photos: 5, sampled: 3 });
    expect(est.megapixels).toBeCloseTo((5 * 128 * 96) / 1e6, 6);
    expect(est.bytesIn).toBe(PHOTOS.reduce((a, p) => a + readFileSync(join(lib, p)).length, 0));
    const model = loadModel(resolvePreset('balanced').model);
    expect(est.models).toEqual([model.card.id]);
    let real = 0;
    for (const p of PHOTOS) real += (await encodeFile(join(lib, p), { model, read: { metadata: 'all' } })).bytes.length;
    expect(est.bytesOut.low).toBeLessThanOrEqual(real);
    expect(est.bytesOut.high).toBeGreaterThanOrEqual(real);
    expect(est.bytesOut.high).toBeLessThan(real * 2); // a range that says something
    expect(est.seconds.low).toBeGreaterThan(0);
    expect(est.seconds.high).toBeGreaterThanOrEqual(est.seconds.low);
    expect(est.notes.join(' ')).toMatch(/centre crop/);

    // Refinement adds its time budget (1 s minimum per photo) and widens the size range upwards.
    const refined = await t.call('estimate', { folderId: folder.id, output: outputTo(out, { effort: 'standard' }) });
    expect(refined.seconds.low).toBeGreaterThanOrEqual(5);
    expect(refined.bytesOut.high).toBeGreaterThan(est.bytesOut.high);
    expect(refined.notes.join(' ')).toMatch(/sgaplus-results/);

    // A quality target is searched over the compact family: sizes follow the target.
    const target = await t.call('estimate', { folderId: folder.id, output: outputTo(out, { quality: { kind: 'bpp', value: 0.6 } }) });
    expect(target.models.length).toBeGreaterThan(0);
    expect(target.notes.join(' ')).toMatch(/at most 0.6 bpp is searched per photo/);
    expect(target.bytesOut.low).toBeLessThan(est.bytesOut.high * 2);
    expect(listFiles(out)).toEqual([]); // nothing written
    await t.call('libraryRemove', { folderId: folder.id });
    await t.call('settingsSet', { workers: 'auto' });
  });

  it('serves upright JPEG thumbnails of scanned photos only', async () => {
    await sharp({ create: { width: 200, height: 100, channels: 3, background: { r: 200, g: 30, b: 30 } } }).jpeg().withMetadata({ orientation: 6 }).toFile(join(lib, 'b', 'turned.jpg'));
    const folder = await t.call('libraryAdd', { path: lib, output: outputTo(tempDir('sgai-svc-out-')) });
    await t.until(() => t.of('library:scan').find((e) => e.folderId === folder.id && e.done && e.counts.photos === 6), 'the scan');
    const r = await t.svc.pixels('thumb', { folderId: folder.id, rel: 'a/1.jpg' });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.mime).toBe('image/jpeg');
    expect([r.bytes[0], r.bytes[1]]).toEqual([0xff, 0xd8]);
    const m = await sharp(r.bytes).metadata();
    expect(m.format).toBe('jpeg');
    expect([m.width, m.height]).toEqual([128, 96]); // a photo smaller than a thumbnail is never enlarged
    const turned = await t.svc.pixels('thumb', { folderId: folder.id, rel: 'b/turned.jpg' });
    if (!turned.ok) throw new Error(turned.error.message);
    const tm = await sharp(turned.bytes).metadata();
    expect([tm.width, tm.height]).toEqual([80, 160]); // EXIF orientation 6: the 200×100 pixels stand upright
    expect(await t.svc.pixels('thumb', { folderId: folder.id, rel: 'a/nope.jpg' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await t.svc.pixels('thumb', { folderId: folder.id, rel: 'notes.txt' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await t.svc.pixels('thumb', { folderId: folder.id, rel: '../outside.jpg' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await t.svc.pixels('thumb', { folderId: 'nope', rel: 'a/1.jpg' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    await t.call('libraryRemove', { folderId: folder.id });
  });

  it('answers app:info with this machine, its backends and models, and refuses unknown or host channels', async () => {
    const info = AppInfo.parse(await t.call('appInfo', {}));
    expect(info).toMatchObject({ version: '0.0.0-test', transport: 'browser' });
    expect(info.cores).toBeGreaterThan(0);
    expect(info.backends.find((b) => b.id === 'wasm')?.available).toBe(true);
    expect(info.backends.find((b) => b.id === 'ort')?.available).toBe(true);
    // 'auto' takes tfjs-node-gpu where it is installed (not on this project's CI), else ONNX Runtime.
    expect(info.autoBackend).toBe(info.backends.find((b) => b.id === 'gpu')!.available ? 'gpu' : 'ort');
    expect(info.models.filter((m) => m.isDefault)).toHaveLength(1);
    expect(info.models.every((m) => m.trained)).toBe(true);
    expect(info.encodeMpPerS).toBeGreaterThan(0);
    expect(info.efforts?.find((e) => e.id === 'standard')?.secondsPerMegapixel).toBe(15);
    expect(await t.svc.invoke('dialog:pick-folder', { purpose: 'library' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await t.svc.invoke('no:such', {})).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await t.svc.invoke(invoke.settingsSet.channel, { workers: 0 })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('presets: high is the compact model just above the default; efforts are time budgets per megapixel', () => {
    expect([...PRESET_IDS].sort()).toEqual([...PresetId.options].sort()); // the app offers what the engine knows
    expect([...EFFORT_IDS].sort()).toEqual([...Effort.options].sort());
    const def = resolvePreset('balanced').model.card.lambda;
    const high = resolvePreset('high').model.card.lambda;
    expect(high).toBeGreaterThan(def);
    expect(compactFamily().some((m) => m.card.lambda > def && m.card.lambda < high)).toBe(false); // the next step, not a bigger one
    expect(resolvePreset('archive').model.card.lambda).toBeGreaterThanOrEqual(high);
    // Unchanged numbers: manifests written with these presets stay valid (the effort is part of the settings hash).
    expect(PRESETS.balanced.refine).toEqual({ kind: 'budget', method: 'ssl', secondsPerMegapixel: 15, maxIterations: 500 });
    expect(PRESETS.archive.refine).toEqual({ kind: 'budget', method: 'ssl', secondsPerMegapixel: 60, maxIterations: 2000 });
    expect(PRESETS.high.refine).toEqual(EFFORTS.standard);
    expect(EFFORTS.fast).toEqual({ kind: 'budget', method: 'ssl', secondsPerMegapixel: 5, maxIterations: 200 });
    expect(EFFORTS.off).toEqual({ kind: 'off' });
  });

  it('keeps settings and the library across service instances, and starts from defaults when library.json is damaged', async () => {
    const dir = tempDir('sgai-svc-data-');
    const a = await startService(dir);
    services.push(a);
    expect(await a.call('settingsGet', {})).toEqual({ workers: 'auto', backend: 'auto', memoryBudgetMB: null, defaultOutput: null, theme: 'system', notify: true });
    const outRoot = tempDir('sgai-svc-default-');
    const set = await a.call('settingsSet', { workers: 1, theme: 'dark', defaultOutput: outRoot });
    expect(set).toMatchObject({ workers: 1, theme: 'dark', defaultOutput: outRoot, backend: 'auto' });
    const folder = await a.call('libraryAdd', { path: lib });
    expect(folder.output.destination).toEqual({ kind: 'folder', path: join(outRoot, basename(lib)) });
    await a.call('libraryUpdate', { folderId: folder.id, output: { ...folder.output, effort: 'max' } });
    await a.svc.shutdown();
    expect(readdirSync(dir).filter((f) => f.includes('tmp'))).toEqual([]); // written through the safe writer

    const b = await startService(dir);
    services.push(b);
    expect(await b.call('settingsGet', {})).toEqual(set);
    const again = await b.call('libraryList', {});
    expect(again.map((f) => [f.id, f.path, f.output.effort])).toEqual([[folder.id, lib, 'max']]);
    await b.svc.shutdown();

    // A damaged library.json: kept aside, a warning logged, an empty library; settings are untouched.
    writeFileSync(join(dir, 'library.json'), '{"version":1,"folders":[{"id":"x"');
    const c = await startService(dir);
    services.push(c);
    expect(await c.call('libraryList', {})).toEqual([]);
    expect(c.logs.join('\n')).toMatch(/library\.json is damaged/);
    expect(readdirSync(dir).some((f) => f.startsWith('library.json.corrupt-'))).toBe(true);
    expect((await c.call('settingsGet', {})).theme).toBe('dark');
    // One bad entry costs only itself.
    await c.svc.shutdown();
    const good = { id: 'keepMe', path: lib, output: folder.output };
    writeFileSync(join(dir, 'library.json'), JSON.stringify({ version: 1, folders: [{ id: 'bad id!', path: lib }, good] }));
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ workers: 999, theme: 'dark' }));
    const d = await startService(dir);
    services.push(d);
    expect((await d.call('libraryList', {})).map((f) => f.id)).toEqual(['keepMe']);
    expect(await d.call('settingsGet', {})).toMatchObject({ workers: 'auto', theme: 'dark' });
    expect(d.logs.join('\n')).toMatch(/could not be read and was left out/);
    expect(existsSync(join(dir, 'settings.json'))).toBe(true);
    expect((await stat(join(dir, 'settings.json'))).isFile()).toBe(true);
  });
});
