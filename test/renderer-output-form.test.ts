/**
 * The output panel's form logic: drafts round-trip the contract's OutputSettings, invalid input is
 * caught with a field and a reason (and agrees with the engine's own naming rules), the policy is
 * summarised in one line, and an effort's time comes from the engine's figures. Also the typed
 * client: its calls, errors in words, and the image URLs it builds over either transport.
 */
import { describe, expect, it } from 'vitest';
import { checkTemplate } from '../src/engine/naming';
import type { SgaiBridge } from '../src/ipc/contract';
import { electronPixelsUrl, httpPixelsPath } from '../src/ipc/http';
import { OutputSettings } from '../src/ipc/schemas';
import { createApi } from '../src/renderer/src/lib/client';
import { describeError } from '../src/renderer/src/lib/errors';
import {
  checkDraft, draftFrom, effortSeconds, insertToken, isAbsolutePath, policySummary, sameSettings, templateProblem,
} from '../src/renderer/src/lib/output-form';
import type { Transport } from '../src/renderer/src/lib/transport';
import { createElectronTransport } from '../src/renderer/src/lib/transport-electron';
import { createHttpTransport } from '../src/renderer/src/lib/transport-http';

const base: OutputSettings = OutputSettings.parse({
  destination: { kind: 'folder', path: '/Volumes/Photos (sgai)' },
  keepTree: true,
  template: '',
  conflict: 'unique',
  minSavingsPercent: 10,
  copyIfNoSavings: false,
  metadata: 'all',
  quality: { kind: 'preset', preset: 'balanced' },
  effort: 'standard',
  include: [],
  exclude: ['**/Exports/**'],
  verify: false,
});

describe('output form', () => {
  it('a draft of valid settings checks back to the same settings', () => {
    for (const o of [
      base,
      { ...base, destination: { kind: 'beside' as const, suffix: '-sgai' }, keepTree: false, template: '{date}/{name}' },
      { ...base, quality: { kind: 'bytes' as const, value: 2_500_000 }, metadata: 'copyright' as const, verify: true },
      { ...base, quality: { kind: 'msssim' as const, value: 0.985 }, effort: 'off' as const, minSavingsPercent: 0 },
      { ...base, quality: { kind: 'bpp' as const, value: 0.3 }, conflict: 'overwrite' as const, include: ['**/*.jpg', 'RAW/**'] },
    ]) {
      const c = checkDraft(draftFrom(o));
      expect(c.ok).toBe(true);
      if (c.ok) expect(sameSettings(c.value, o)).toBe(true);
    }
  });

  it('max file size is typed in MB and sent in bytes', () => {
    const d = draftFrom(base);
    d.qualityKind = 'bytes';
    d.targetValues.bytes = '1.5';
    const c = checkDraft(d);
    expect(c.ok && c.value.quality).toEqual({ kind: 'bytes', value: 1_500_000 });
    expect(draftFrom({ ...base, quality: { kind: 'bytes', value: 1_500_000 } }).targetValues.bytes).toBe('1.5');
  });

  it('remembers the folder path and the typed targets while other choices are picked', () => {
    const d = draftFrom(base);
    d.destKind = 'beside';
    d.qualityKind = 'psnr';
    d.targetValues.psnr = '40';
    const c = checkDraft(d);
    expect(c.ok).toBe(true);
    const back = draftFrom(c.ok ? c.value : base, d);
    expect(back.folderPath).toBe('/Volumes/Photos (sgai)');
    expect(back.targetValues.psnr).toBe('40');
    expect(back.preset).toBe('balanced');
  });

  it('explains invalid input per field and never produces settings from it', () => {
    const cases: [Partial<ReturnType<typeof draftFrom>>, string, RegExp][] = [
      [{ folderPath: '' }, 'folderPath', /output folder|folder where/i],
      [{ folderPath: 'relative/out' }, 'folderPath', /full path/],
      [{ destKind: 'beside', suffix: 'a/b' }, 'suffix', /cannot contain/],
      [{ template: '{name}/{when}' }, 'template', /Unknown token \{when\}/],
      [{ template: '../{name}' }, 'template', /inside the output folder/],
      [{ template: '{date}' }, 'template', /\{name\} or \{n\}/],
      [{ minSavings: 'ten' }, 'minSavings', /number/],
      [{ minSavings: '120' }, 'minSavings', /Between 0 and 99/],
      [{ qualityKind: 'psnr', targetValues: { bpp: '', bytes: '', psnr: '80', msssim: '' } }, 'target', /Between 15 and 60/],
      [{ qualityKind: 'msssim', targetValues: { bpp: '', bytes: '', psnr: '', msssim: '' } }, 'target', /number/],
      [{ include: Array.from({ length: 33 }, (_, i) => `a${i}/**`).join('\n') }, 'include', /at most 32/],
    ];
    for (const [change, field, why] of cases) {
      const c = checkDraft({ ...draftFrom(base), ...change });
      expect(c.ok, JSON.stringify(change)).toBe(false);
      if (!c.ok) expect(c.errors[field as keyof typeof c.errors], field).toMatch(why);
    }
  });

  it('accepts and refuses naming templates exactly as the engine does', () => {
    const templates = [
      '{name}', '{folder}/{name}', '{date}/{name}', '{preset}-{n}', 'fixed/{n}', '{date}', 'x', '{nmae}', '{name}/{}',
      '/abs/{name}', 'a/../{name}', 'C:/{name}', '{folder}/{date}/{name}-{preset}',
    ];
    for (const t of templates) {
      let engineOk = true;
      try {
        checkTemplate(t);
      } catch {
        engineOk = false;
      }
      expect(templateProblem(t) === null, t).toBe(engineOk);
    }
  });

  it('says the policy in one line', () => {
    expect(policySummary(base)).toBe('→ /Volumes/Photos (sgai), keep tree, skip done, skip if under 10 % smaller, keep all metadata');
    const other = policySummary({ ...base, destination: { kind: 'beside', suffix: '-s' }, keepTree: false, conflict: 'skip', minSavingsPercent: 0, metadata: 'no-location', verify: true });
    expect(other).toBe('→ next to originals (suffix “-s”), one folder, skip done, skip existing, no location or serials, verify');
    const long = policySummary({ ...base, destination: { kind: 'folder', path: `/Volumes/${'very long name/'.repeat(6)}out` } });
    expect(long.split(',')[0]).toContain('…');
  });

  it('an effort costs the measured encode time plus its refinement budget', () => {
    const info = { encodeMpPerS: 0.5, efforts: [{ id: 'off' as const, secondsPerMegapixel: 0 }, { id: 'max' as const, secondsPerMegapixel: 60 }] };
    expect(effortSeconds('off', info, 24)).toBeCloseTo(48);
    expect(effortSeconds('max', info, 24)).toBeCloseTo(48 + 1440);
    expect(effortSeconds('fast', info, 24)).toBeNull(); // the engine did not say
    expect(effortSeconds('off', { encodeMpPerS: null, efforts: info.efforts }, 24)).toBeNull();
  });

  it('inserts a token at the caret or over the selection', () => {
    expect(insertToken('{folder}/', '{name}', 9, 9)).toEqual({ text: '{folder}/{name}', caret: 15 });
    expect(insertToken('{folder}/X', '{date}', 9, 10)).toEqual({ text: '{folder}/{date}', caret: 15 });
    expect(insertToken('', '{n}', 5, 5)).toEqual({ text: '{n}', caret: 3 });
  });

  it('knows full paths on every system', () => {
    expect(isAbsolutePath('/home/me')).toBe(true);
    expect(isAbsolutePath('C:\\Users\\me')).toBe(true);
    expect(isAbsolutePath('\\\\nas\\photos')).toBe(true);
    expect(isAbsolutePath('photos/out')).toBe(false);
    expect(isAbsolutePath('C:photos')).toBe(false);
  });
});

describe('typed client', () => {
  it('resolves answers, throws ApiError with the code, and explains refusals in words', async () => {
    const seen: string[] = [];
    const transport: Transport = {
      kind: 'http',
      // The answers are the envelopes a server sends; their value types are not the point here.
      invoke: (async (name: string) => {
        seen.push(name);
        if (name === 'libraryList') return { ok: true, value: [] };
        if (name === 'revealPath') return { ok: false, error: { code: 'FORBIDDEN', message: '/etc is outside the folders you added' } };
        return { ok: false, error: { code: 'ENGINE_LOST', message: 'gone' } };
      }) as Transport['invoke'],
      on: () => () => {},
      pixelUrl: (route, req) => `/pixels/${route}?q=${JSON.stringify(req)}`,
      pathForFile: () => null,
      onReconnect: () => () => {},
    };
    const api = createApi(transport);
    await expect(api.libraryList({})).resolves.toEqual([]);
    const refused = await api.revealPath({ path: '/etc' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'ApiError', code: 'FORBIDDEN' });
    expect(describeError(refused)).toMatch(/refused .* safety: \/etc is outside/);
    const lost = await api.jobsList({}).catch((e: unknown) => e);
    expect(describeError(lost)).toMatch(/restarting/);
    expect(seen).toEqual(['libraryList', 'revealPath', 'jobsList']);
    expect(api.thumbUrl('f1', 'a/b.jpg')).toBe('/pixels/thumb?q={"folderId":"f1","rel":"a/b.jpg"}');
    // Nothing thrown is ever shown as "[object Object]".
    expect(describeError({ message: 'plain object' })).toBe('plain object');
    expect(describeError({ weird: true })).not.toContain('[object Object]');
  });

  it('without a transport (a page opened without its key) every call says how to open it', async () => {
    const api = createApi(null);
    expect(api.transport).toBeNull();
    await expect(api.libraryList({})).rejects.toMatchObject({ code: 'NO_TOKEN' });
    expect(api.pixelUrl('viewer-preview', { path: '/p/a.sgai' })).toBe('');
  });

  it('builds the viewer\'s image URLs for either transport, as the server and main parse them', () => {
    const tile = { path: '/photos/a b#1.sgai', layer: 'sgai' as const, level: 2, tx: 3, ty: 1 };
    const http = createApi(createHttpTransport('t/k+n'));
    expect(http.pixelUrl('viewer-tile', tile)).toBe(httpPixelsPath('viewer-tile', tile, 't/k+n'));
    const url = new URL(http.pixelUrl('viewer-tile', tile), 'http://127.0.0.1');
    expect(url.pathname).toBe('/pixels/viewer-tile');
    expect(JSON.parse(url.searchParams.get('q')!)).toEqual(tile);
    expect(url.searchParams.get('token')).toBe('t/k+n');
    const bridge = {} as SgaiBridge;
    const electron = createApi(createElectronTransport(bridge));
    expect(electron.pixelUrl('viewer-preview', { path: '/p/a.sgai' })).toBe(electronPixelsUrl('viewer-preview', { path: '/p/a.sgai' }));
    expect(electron.thumbUrl('f1', 'x.jpg')).toBe(electronPixelsUrl('thumb', { folderId: 'f1', rel: 'x.jpg' }));
  });
});
