/**
 * The .sgai viewer end to end, in Debian's Chromium against `sgai app --browser file.sgai folder`
 * started as a user starts it, with the real engine and real files (nothing mocked): the file
 * given on the command line opens at once (the preview, then every tile; the comparison controls
 * wait while the original is looked for), zooms to 100 % and pans, compares against the original
 * and against a JPEG of the same size with a split that is dragged,
 * side by side, with the error heatmap, shows the info panel (location behind a toggle), carries a
 * comparison over to the next file once its original is confirmed (a late answer for a file left
 * behind is not applied), steps to the next file with the arrow keys, exports PNG 16-bit with all metadata and a small JPEG without
 * it (checked with sharp and exifr), opens files by typed path (Ctrl+O) and from Library and Queue
 * rows, and shows damaged files (cut short, a flipped byte, an unknown model, not an .sgai) as a
 * message with the reason, the window staying usable. Every state is saved to test-results/ui/v*.
 */
import { existsSync, mkdirSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import exifr from 'exifr';
import type { Browser, Page, Route } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BatchInfo, CompareSide } from '../src/ipc/schemas';
import { levelForZoom, tilesAcross } from '../src/ipc/viewer-tiles';
import { viewerStrings } from '../src/renderer/src/lib/strings-viewer';
import { invokeHttp } from './app-helpers';
import { ensureRenderer, launchChromium, makeCrops, shot } from './e2e-helpers';
import { tempDir } from './helpers';
import { type AppProcess, CAMERA, type DamagedFiles, MAIN, makeDamaged, makeViewerPhotos, SECOND, startAppProcess } from './viewer-e2e-helpers';

const LONG = 120_000;
/** The renderer's viewer:original call over HTTP (src/ipc/http.ts). */
const ORIGINAL_ROUTE = /\/api\/invoke\/viewerOriginal$/;

describe('the .sgai viewer in Chromium', () => {
  let app: AppProcess;
  let browser: Browser;
  let page: Page;
  let home: string;
  let main: string;
  let mainOriginal: string;
  let second: string;
  let damaged: DamagedFiles;
  const pageErrors: string[] = [];

  const call = async <T>(name: string, req: unknown): Promise<T> => {
    const r = await invokeHttp(app.port, app.token, name, req);
    if (!r.json?.ok) throw new Error(`${name}: ${JSON.stringify(r.json)}`);
    return r.json.value as T;
  };
  const byId = (id: string) => page.getByTestId(id);
  const tiles = (layer = 'viewer-tile') => page.locator(`[data-testid="${layer}"]`);
  const loadedTiles = (layer = 'viewer-tile', level?: number) =>
    page.locator(`[data-testid="${layer}"][data-loaded="true"]${level === undefined ? '' : `[data-level="${level}"]`}`);
  const label = (text: string) => text.replace(/\s+/g, ' ').trim();

  /** A select gets the value; a segmented control gets its option's button clicked (data-testid `<id>-<value>`). */
  async function choose(testId: string, value: string) {
    const el = byId(testId);
    if (await el.evaluate((e) => e.tagName === 'SELECT')) await el.selectOption(value);
    else await byId(`${testId}-${value}`).click();
  }

  /** The file shown is `name`, and every tile of the level the fit view needs has loaded. */
  async function expectShownAtFit(name: string, size: { width: number; height: number }) {
    await expect.poll(() => byId('viewer-name').innerText(), { timeout: 30_000 }).toBe(name);
    const box = (await byId('viewer-canvas').boundingBox())!;
    const zoom = Math.min(1, box.width / size.width, box.height / size.height);
    const level = levelForZoom(zoom, size.width, size.height);
    const { cols, rows } = tilesAcross(size.width, size.height, level);
    await expect.poll(() => loadedTiles('viewer-tile', level).count(), { timeout: 60_000 }).toBe(cols * rows);
    // Each tile is the size tileRect says, in display pixels of its level.
    const sizes = await loadedTiles('viewer-tile', level).evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth * (i as HTMLImageElement).naturalHeight));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(Math.ceil(size.width / 2 ** level) * Math.ceil(size.height / 2 ** level));
  }

  /** File > Open in a browser: Ctrl+O, the path typed. */
  async function openByPath(path: string) {
    await page.keyboard.press('Control+O');
    await expect.poll(() => byId('open-path-input').isVisible(), { timeout: 10_000 }).toBe(true);
    await byId('open-path-input').fill(path);
  }

  /**
   * The export progress card, over whatever view is showing, ends on "done" listing the file
   * written. Soft: the files themselves are checked whatever the card shows.
   */
  async function progressCardSays(written: string) {
    const until = Date.now() + 20_000;
    while (!(await byId('export-done').isVisible()) && Date.now() < until) await page.waitForTimeout(250);
    expect.soft(await byId('export-done').isVisible(), 'the export progress card shows "done" over the viewer').toBe(true);
    expect.soft((await byId('export-written').allInnerTexts().catch(() => [])).join('\n')).toContain(written);
  }

  async function labelsMeasured() {
    for (const side of ['side-label-left', 'side-label-right']) {
      await expect.poll(async () => (await byId(side).getAttribute('aria-busy')) === null && (await byId(side).innerText()).length > 0, { timeout: LONG }).toBe(true);
    }
  }

  /**
   * Holds the page's viewer:original calls until released, per .sgai path, so the renderer sees a
   * slow lookup (the engine itself started it at open and answers as soon as the call arrives).
   */
  async function holdOriginalLookups() {
    const waiting: Array<{ path: string; go: () => void }> = [];
    const released = new Set<string>();
    const handler = async (route: Route) => {
      const path = (route.request().postDataJSON() as { path: string }).path;
      if (!released.has(path)) await new Promise<void>((go) => waiting.push({ path, go }));
      await route.continue();
    };
    await page.route(ORIGINAL_ROUTE, handler);
    const release = (path: string) => {
      released.add(path);
      for (const w of waiting.splice(0)) {
        if (w.path === path) w.go();
        else waiting.push(w);
      }
    };
    return {
      asked: (path: string) => waiting.some((w) => w.path === path),
      release,
      /** The answer for `path` has reached the page. */
      answered: (path: string) => page.waitForResponse((r) => ORIGINAL_ROUTE.test(r.url()) && (r.request().postDataJSON() as { path: string }).path === path),
      async stop() {
        for (const w of waiting.splice(0)) w.go();
        await page.unroute(ORIGINAL_ROUTE, handler);
      },
    };
  }

  /** The comparison controls' state: 'looking' (disabled, with the looking title), 'found' or 'none'. */
  const originalState = () => byId('compare-group').getAttribute('data-original');

  /** Drags the split divider to `fraction` of the canvas width; returns the slider's value. */
  async function dragSplit(fraction: number): Promise<number> {
    const canvas = (await byId('viewer-canvas').boundingBox())!;
    const handle = (await byId('split-handle').boundingBox())!;
    const y = canvas.y + canvas.height * 0.6;
    await page.mouse.move(handle.x + handle.width / 2, y);
    await page.mouse.down();
    await page.mouse.move(canvas.x + canvas.width * fraction, y, { steps: 8 });
    await page.mouse.up();
    return Number(await byId('split-handle').getAttribute('aria-valuenow'));
  }

  beforeAll(async () => {
    ensureRenderer();
    home = realpathSync(tempDir('sgai-viewer-e2e-'));
    const photos = await makeViewerPhotos(join(home, 'Viewer'));
    console.log(`viewer-e2e: ${photos.note}`);
    ({ main, mainOriginal, second } = photos);
    damaged = makeDamaged(main, join(home, 'Viewer', 'damaged'));
    await makeCrops(join(home, 'Pictures', 'Trip'), ['harbour.png']);
    app = await startAppProcess([main, join(home, 'Pictures', 'Trip'), '--allow', home, '--data-dir', join(home, 'config')]);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    page.on('pageerror', (e) => void pageErrors.push(e.message));
  }, LONG);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && page) await shot(page, `v-failed-${ctx.task.name.slice(0, 40).replace(/\W+/g, '-')}`);
  });

  afterAll(async () => {
    await browser?.close();
    const code = await app?.stop();
    if (code !== 130) console.log(`sgai app exited with ${code}:\n${app?.stderr()}`);
  });

  it('opens the .sgai given to `sgai app --browser`: the preview at once, then every tile', async () => {
    // Tiles wait until the preview has been seen alone, so the first state is pictured for sure.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tileRoute = /\/pixels\/viewer-tile\?/;
    await page.route(tileRoute, async (route) => {
      await held;
      await route.continue();
    });
    // The original's lookup answers late too: the comparison controls wait, disabled, saying why.
    const lookups = await holdOriginalLookups();
    await page.goto(app.url);
    await expect.poll(() => byId('viewer').isVisible(), { timeout: 30_000 }).toBe(true);
    await expect.poll(() => byId('viewer-name').innerText(), { timeout: 30_000 }).toBe(`${MAIN.name}.sgai`);
    const preview = byId('viewer-preview');
    await expect.poll(() => preview.evaluate((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await preview.isVisible()).toBe(true);
    expect(await loadedTiles().count()).toBe(0);
    await expect.poll(() => lookups.asked(main), { timeout: 20_000 }).toBe(true);
    expect(await originalState()).toBe('looking');
    expect(await byId('compare-mode').isDisabled()).toBe(true);
    expect(await byId('compare-mode').getAttribute('title')).toBe(viewerStrings.toolbar.lookingForOriginal);
    expect(await byId('heat-toggle').isDisabled()).toBe(true);
    expect(await byId('original-looking').count(), 'nothing chosen waits, so the canvas says nothing').toBe(0);
    await shot(page, 'v01-preview-only-looking-for-original');
    const answered = lookups.answered(main);
    lookups.release(main);
    await answered;
    await expect.poll(originalState, { timeout: 10_000 }).toBe('found');
    expect(await byId('compare-mode').isDisabled()).toBe(false);
    expect(await byId('compare-mode').getAttribute('title')).toBeNull();
    await lookups.stop();
    release();
    await expectShownAtFit(`${MAIN.name}.sgai`, MAIN);
    await page.unroute(tileRoute);
    await shot(page, 'v02-tiles-loaded-fit');

    // Zoomed out past 50 %: the next level's tiles (half the pixels a side) replace them.
    for (let i = 0; i < 3; i++) await byId('zoom-out').click();
    const zoom = Number((await byId('zoom-label').innerText()).replace(/[^\d.]/g, '')) / 100;
    const level = levelForZoom(zoom, MAIN.width, MAIN.height);
    expect(level).toBeGreaterThan(0);
    const { cols, rows } = tilesAcross(MAIN.width, MAIN.height, level);
    await expect.poll(() => loadedTiles('viewer-tile', level).count(), { timeout: 60_000 }).toBe(cols * rows);
    await shot(page, 'v02b-zoomed-out');
  }, LONG);

  it('zooms to 100 % and pans by dragging', async () => {
    await byId('zoom-100').click();
    await expect.poll(async () => label(await byId('zoom-label').innerText()), { timeout: 10_000 }).toBe('100 %');
    await expect.poll(() => loadedTiles('viewer-tile', 0).count(), { timeout: 60_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-testid="viewer-tile"][data-level="0"]:not([data-loaded="true"])').count(), { timeout: 60_000 }).toBe(0);
    await shot(page, 'v03-100-percent');

    const tile = loadedTiles('viewer-tile', 0).first();
    const before = (await tile.boundingBox())!;
    const canvas = (await byId('viewer-canvas').boundingBox())!;
    const cx = canvas.x + canvas.width / 2;
    const cy = canvas.y + canvas.height / 2;
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(cx - 150, cy - 100, { steps: 10 });
    await page.mouse.up();
    const after = (await tile.boundingBox())!;
    // The photo is larger than the window at 100 %, so it moves with the pointer (as far as the edges allow).
    expect(after.x - before.x).toBeLessThan(-50);
    expect(after.y - before.y).toBeLessThan(-50);
    expect(after.width).toBeCloseTo(before.width, 0);
    await expect.poll(() => page.locator('[data-testid="viewer-tile"][data-level="0"]:not([data-loaded="true"])').count(), { timeout: 60_000 }).toBe(0);
    await shot(page, 'v04-100-percent-panned');
    await byId('zoom-fit').click();
  }, LONG);

  it('compares against the original with a draggable split, side by side, and against a JPEG of the same size', async () => {
    await choose('compare-against', 'original');
    await choose('compare-mode', 'split');
    await labelsMeasured();
    await expect.poll(() => loadedTiles('viewer-tile-original').count(), { timeout: LONG }).toBeGreaterThan(0);
    expect(label(await byId('side-label-left').innerText())).toMatch(/sgai/i);
    expect(Math.abs((await dragSplit(0.25)) - 25)).toBeLessThanOrEqual(3);
    await shot(page, 'v05-split-original-25');
    expect(Math.abs((await dragSplit(0.75)) - 75)).toBeLessThanOrEqual(3);
    await shot(page, 'v06-split-original-75');

    await choose('compare-mode', 'side');
    await expect.poll(() => loadedTiles('viewer-tile-original').count(), { timeout: LONG }).toBeGreaterThan(0);
    await shot(page, 'v06b-side-by-side');

    await choose('compare-mode', 'split');
    await choose('compare-against', 'jpeg');
    await labelsMeasured();
    await expect.poll(() => loadedTiles('viewer-tile-jpeg').count(), { timeout: LONG }).toBeGreaterThan(0);
    const right = label(await byId('side-label-right').innerText());
    expect(right).toMatch(/JPEG/);
    // The labels say it too: the two sides' bits per pixel (same pixel count) within 2 % (+ the labels' rounding).
    const bpp = (text: string) => Number(/([\d.]+) bpp/.exec(text)?.[1]);
    const leftBpp = bpp(label(await byId('side-label-left').innerText()));
    expect(Math.abs(bpp(right) - leftBpp) / leftBpp).toBeLessThanOrEqual(0.025);
    await shot(page, 'v07-split-same-size-jpeg');
    // The same answer the labels were made from: the JPEG's bytes are within 2 % of the .sgai's.
    const cmp = await call<{ sgai: CompareSide; other: CompareSide }>('viewerCompare', { path: main, against: 'jpeg' });
    expect(cmp.sgai.bytes).toBe(statSync(main).size);
    expect(Math.abs(cmp.other.bytes - cmp.sgai.bytes) / cmp.sgai.bytes).toBeLessThanOrEqual(0.02);
    expect(cmp.sgai.psnr).toBeGreaterThan(20);
    expect(cmp.other.psnr).toBeGreaterThan(20);
    await choose('compare-mode', 'off');
  }, LONG * 2);

  it('shows the error heatmap with its legend, and the info panel with the location behind a toggle', async () => {
    await byId('heat-toggle').click();
    await expect.poll(() => byId('heat-legend').isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => loadedTiles('viewer-tile-heat').count(), { timeout: LONG }).toBeGreaterThan(0);
    await shot(page, 'v08-heatmap');
    await byId('heat-toggle').click();
    await expect.poll(() => byId('heat-legend').isVisible(), { timeout: 10_000 }).toBe(false);

    await byId('info-toggle').click();
    const panel = byId('info-panel');
    await expect.poll(() => panel.isVisible(), { timeout: 10_000 }).toBe(true);
    const text = await panel.innerText();
    expect(text).toContain(CAMERA.make);
    expect(text).toContain(CAMERA.model);
    expect(text).toMatch(new RegExp(`${MAIN.width.toLocaleString('en-US')}|${MAIN.width}`));
    expect(text).not.toContain(CAMERA.latitude.toFixed(2));
    expect(await byId('info-gps').isVisible().catch(() => false)).toBe(false);
    await shot(page, 'v09-info');
    await byId('info-gps-toggle').click();
    await expect.poll(() => byId('info-gps').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await byId('info-gps').innerText()).toContain(CAMERA.latitude.toFixed(2));
    await shot(page, 'v10-info-location');
    await byId('info-toggle').click();
  }, LONG);

  it('carries a split over to the next file once its original is confirmed; a late answer for a file left behind is dropped', async () => {
    await choose('compare-against', 'original');
    await choose('compare-mode', 'split');
    await labelsMeasured();
    const lookups = await holdOriginalLookups();
    try {
      await byId('viewer-canvas').focus();
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => byId('viewer-name').innerText(), { timeout: 30_000 }).toBe(`${SECOND.name}.sgai`);
      await expect.poll(() => lookups.asked(second), { timeout: 20_000 }).toBe(true);
      // Chosen but not shown: no original layer or divider until this file's original is proven.
      expect(await originalState()).toBe('looking');
      expect(await byId('compare-mode').inputValue()).toBe('split');
      expect(await byId('compare-mode').isDisabled()).toBe(true);
      expect(await page.locator('[data-testid="viewer-tile-original"]').count()).toBe(0);
      expect(await byId('split-handle').count()).toBe(0);
      expect(label(await byId('original-looking').innerText())).toBe(viewerStrings.toolbar.lookingForOriginal);
      await shot(page, 'v11a-next-file-looking-for-original');

      // Back before the answer came; then the second file's answer arrives while the first is shown.
      await page.keyboard.press('ArrowLeft');
      await expect.poll(() => byId('viewer-name').innerText(), { timeout: 30_000 }).toBe(`${MAIN.name}.sgai`);
      await expect.poll(() => lookups.asked(main), { timeout: 20_000 }).toBe(true);
      const late = lookups.answered(second);
      lookups.release(second);
      await (await late).finished();
      await page.waitForTimeout(300);
      expect(await originalState(), 'the answer for the file left behind is not applied').toBe('looking');
      expect(await byId('split-handle').count()).toBe(0);

      // This file's own answer: the split comes back, with its original's tiles and measurements.
      lookups.release(main);
      await expect.poll(originalState, { timeout: 20_000 }).toBe('found');
      await expect.poll(() => byId('split-handle').count(), { timeout: 10_000 }).toBe(1);
      expect(await byId('original-looking').count()).toBe(0);
      await labelsMeasured();
      await expect.poll(() => loadedTiles('viewer-tile-original').count(), { timeout: LONG }).toBeGreaterThan(0);
    } finally {
      await lookups.stop();
    }

    // Unheld, the split carries over to the next file as soon as its original is confirmed.
    await byId('viewer-canvas').focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => byId('viewer-name').innerText(), { timeout: 30_000 }).toBe(`${SECOND.name}.sgai`);
    await expect.poll(originalState, { timeout: 20_000 }).toBe('found');
    await labelsMeasured();
    await expect.poll(() => loadedTiles('viewer-tile-original').count(), { timeout: LONG }).toBeGreaterThan(0);
    expect(label(await byId('side-label-right').innerText())).toMatch(/Original/);
    // Tiles of a file left while they loaded fail as the engine drops it: no error is blamed on the file shown.
    expect((await page.getByTestId('toast-error').allInnerTexts()).join('\n')).not.toMatch(/could not be decoded/);
    await shot(page, 'v11b-split-carried-over');
    await choose('compare-mode', 'off');
    await byId('viewer-canvas').focus();
    await page.keyboard.press('ArrowLeft');
    await expectShownAtFit(`${MAIN.name}.sgai`, MAIN);
  }, LONG * 2);

  it('steps to the next file in the folder with → and back with ←', async () => {
    await byId('viewer-canvas').focus();
    await page.keyboard.press('ArrowRight');
    await expectShownAtFit(`${SECOND.name}.sgai`, SECOND);
    await shot(page, 'v11-next-file');
    await page.keyboard.press('ArrowLeft');
    await expectShownAtFit(`${MAIN.name}.sgai`, MAIN);
  }, LONG);

  it('exports PNG 16-bit with all metadata, and a JPEG q 85 without metadata at long edge 400', async () => {
    // A folder the photographer made for the exports (the engine does not create a typed folder).
    const out = join(home, 'Exports');
    mkdirSync(out);
    const srcIcc = (await sharp(mainOriginal).metadata()).icc!;

    await byId('export-open').click();
    await expect.poll(() => byId('export-dialog').isVisible(), { timeout: 10_000 }).toBe(true);
    await choose('export-format', 'png');
    await choose('export-bitdepth', '16');
    await choose('export-metadata', 'all');
    await byId('export-resize').setChecked(false);
    await byId('export-folder').fill(out);
    await shot(page, 'v12-export-dialog-png');
    await byId('export-run').click();
    const png = join(out, `${MAIN.name}.png`);
    await expect.poll(() => existsSync(png), { timeout: LONG }).toBe(true);
    await progressCardSays(`${MAIN.name}.png`);
    await shot(page, 'v13-export-png-done');
    const pm = await sharp(png).metadata();
    expect([pm.width, pm.height, pm.depth]).toEqual([MAIN.width, MAIN.height, 'ushort']);
    expect(Buffer.compare(pm.icc!, srcIcc)).toBe(0);
    const pngTags = await exifr.parse(png, { gps: true });
    expect(pngTags?.Make).toBe(CAMERA.make);
    expect(pngTags?.latitude).toBeCloseTo(CAMERA.latitude, 4);
    if (await byId('export-dismiss').isVisible()) await byId('export-dismiss').click();

    await byId('export-open').click();
    await expect.poll(() => byId('export-dialog').isVisible(), { timeout: 10_000 }).toBe(true);
    await choose('export-format', 'jpeg');
    await byId('export-quality').fill('85');
    await choose('export-metadata', 'none');
    await byId('export-resize').setChecked(true);
    await byId('export-long-edge').fill('400');
    await byId('export-folder').fill(out);
    await shot(page, 'v14-export-dialog-jpeg');
    await byId('export-run').click();
    const jpg = join(out, `${MAIN.name}.jpg`);
    await expect.poll(() => existsSync(jpg), { timeout: LONG }).toBe(true);
    await progressCardSays(`${MAIN.name}.jpg`);
    await shot(page, 'v15-export-jpeg-done');
    const jm = await sharp(jpg).metadata();
    expect(jm.format).toBe('jpeg');
    expect(jm.width).toBe(400);
    expect(jm.height).toBe(Math.round((400 * MAIN.height) / MAIN.width));
    expect(jm.icc).toBeDefined();
    expect((await exifr.parse(jpg).catch(() => undefined))?.Make).toBeUndefined();
    expect(readdirSync(out).sort()).toEqual([`${MAIN.name}.jpg`, `${MAIN.name}.png`]);
    if (await byId('export-dismiss').isVisible()) await byId('export-dismiss').click();
  }, LONG * 2);

  it('opens a file by typed path (Ctrl+O), and damaged files show why, the window staying usable', async () => {
    await openByPath(second);
    await shot(page, 'v16-open-by-path');
    await byId('open-path-submit').click();
    await expectShownAtFit(`${SECOND.name}.sgai`, SECOND);

    const cases: Array<{ file: string; why: RegExp; shot: string }> = [
      { file: damaged.truncated, why: /truncated/i, shot: 'v17-error-truncated' },
      { file: damaged.corrupt, why: /checksum|CRC|damaged|corrupt/i, shot: 'v18-error-corrupt' },
      { file: damaged.unknownModel, why: /sgai-msh-c64-l9999.*not installed|not installed.*sgai-msh-c64-l9999/i, shot: 'v19-error-unknown-model' },
      { file: damaged.notSgai, why: /not an \.sgai file/i, shot: 'v20-error-not-sgai' },
    ];
    for (const c of cases) {
      await openByPath(c.file);
      await byId('open-path-submit').click();
      const error = byId('viewer-error');
      await expect.poll(() => error.isVisible(), { timeout: 30_000 }).toBe(true);
      const text = label(await error.innerText());
      console.log(`viewer-e2e: ${c.file.split('/').pop()}: ${text}`);
      expect(text).toMatch(c.why);
      expect(text).toContain(c.file.split('/').pop());
      await shot(page, c.shot);
    }
    // Still usable: a good file opens after them.
    await openByPath(main);
    await byId('open-path-submit').click();
    await expect.poll(() => byId('viewer-error').isVisible(), { timeout: 10_000 }).toBe(false);
    await expectShownAtFit(`${MAIN.name}.sgai`, MAIN);
    await shot(page, 'v21-good-file-after-errors');
  }, LONG);

  it('opens a compressed photo from its Library row and its Queue row', async () => {
    const lib = join(home, 'Pictures', 'Trip');
    await byId('nav-library').click();
    await expect.poll(() => byId('scan-summary').getAttribute('data-scanning'), { timeout: 30_000 }).toBe('false');
    await byId('preset-small').click();
    await byId('dest-folder').click();
    await byId('output-folder').fill(join(home, 'Trip compressed'));
    await expect.poll(() => byId('save-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('saved');
    await byId('start').click();
    await expect.poll(async () => (await call<BatchInfo[]>('jobsList', {})).find((b) => b.folderPath === lib)?.state, { timeout: LONG }).toBe('done');
    await byId('nav-library').click();
    const open = page.locator('[data-testid="photo-row"]', { hasText: 'harbour.png' }).getByTestId('photo-open');
    await expect.poll(() => open.isVisible(), { timeout: 30_000 }).toBe(true);
    await shot(page, 'v22-library-row-open');
    await open.click();
    await expect.poll(() => byId('viewer-name').innerText(), { timeout: 30_000 }).toBe('harbour.sgai');
    await expect.poll(() => loadedTiles().count(), { timeout: 60_000 }).toBeGreaterThan(0);
    await shot(page, 'v23-opened-from-library');

    await byId('viewer-close').click();
    await expect.poll(() => byId('viewer').isVisible(), { timeout: 10_000 }).toBe(false);
    await byId('nav-queue').click();
    const jobOpen = page.getByTestId('job-open').first();
    await expect.poll(() => jobOpen.isVisible(), { timeout: 30_000 }).toBe(true);
    await jobOpen.click();
    await expect.poll(() => byId('viewer').isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => byId('viewer-name').innerText(), { timeout: 30_000 }).toBe('harbour.sgai');
    await expect.poll(() => loadedTiles().count(), { timeout: 60_000 }).toBeGreaterThan(0);
    await shot(page, 'v24-opened-from-queue');
    expect(pageErrors).toEqual([]);
  }, LONG * 2);
});
