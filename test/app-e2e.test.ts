/**
 * End to end in a real Chromium against `sgai app --browser` and the real engine (real files, real
 * encodes with the bundled preset models, nothing mocked): a photographer adds a folder of nested
 * Kodak crops by typing its path, sees the scan count and the name preview, picks a preset and an
 * output folder, runs, pauses and resumes, cancels one photo, reads the summary, and finds every
 * output decodable by the CLI; a second run redoes nothing. Then the engine is killed mid-batch,
 * and a folder with a broken file shows the error state. Every screen is saved to test-results/ui/.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BatchInfo, JobRow, LibraryFolder } from '../src/ipc/schemas';
import { strings } from '../src/renderer/src/lib/strings';
import { type BrowserApp, startBrowserApp } from '../src/server/app-server';
import { invokeHttp } from './app-helpers';
import { CROP_H, CROP_W, ensureRenderer, launchChromium, makeCorrupt, makeCrops, shot } from './e2e-helpers';
import { alive, listFiles, runCli, tempDir } from './helpers';

const PHOTOS = [
  'harbour.png', 'lighthouse.png', 'market.png', 'parrots.png',
  '2019/beach.png', '2019/cliffs.png', '2019/door.png', '2019/window.png',
  '2019/summer/boats.png', '2019/summer/hats.png', '2019/summer/river.png', '2019/summer/sail.png',
];
const LONG = 120_000;

describe('sgai app --browser in Chromium', () => {
  let app: BrowserApp;
  let browser: Browser;
  let page: Page;
  let home: string;
  const logs: string[] = [];

  const call = async <T>(name: string, req: unknown): Promise<T> => {
    const r = await invokeHttp(app.port, app.token, name, req);
    if (!r.json?.ok) throw new Error(`${name}: ${JSON.stringify(r.json)}`);
    return r.json.value as T;
  };
  const batches = () => call<BatchInfo[]>('jobsList', {});
  const latest = async () => (await batches()).at(-1)!;
  const rowsOf = async (batchId: string) => (await call<{ rows: JobRow[] }>('jobsRows', { batchId, offset: 0, limit: 1000 })).rows;
  const outputsUnder = (dir: string) => listFiles(dir).filter((f) => !f.startsWith('.sgai-batch'));

  /** Adds a folder the way a browser user does: by typing its path. */
  async function addFolder(path: string) {
    const input = page.getByTestId('path-input');
    if (!(await input.isVisible())) await page.getByTestId('folder-add').click();
    await input.fill(path);
    await page.getByTestId('add-button').click();
    // The side panel belongs to the new folder only once the add has answered; edits made before
    // that would go to the previously selected folder's panel.
    await expect.poll(() => page.getByTestId('output-panel').getAttribute('data-folder-path'), { timeout: 30_000 }).toBe(path);
  }

  async function chooseOutput(out: string, preset: 'small' | 'balanced' | 'high') {
    await page.getByTestId(`preset-${preset}`).click();
    await page.getByTestId('dest-folder').click();
    await page.getByTestId('output-folder').fill(out);
    await expect.poll(() => page.getByTestId('save-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('saved');
  }

  const jobRow = (rel: string) => page.locator(`[data-testid="job-row"][data-id="${rel}"]`);

  beforeAll(async () => {
    ensureRenderer();
    const base = realpathSync(tempDir('sgai-e2e-'));
    home = join(base, 'home');
    const note = await makeCrops(join(home, 'Pictures', 'Holiday'), PHOTOS);
    console.log(`app-e2e: ${note}`);
    app = await startBrowserApp({ folders: [], roots: [home], dataDir: tempDir('sgai-e2e-data-'), log: (l) => void logs.push(l) });
    // One encoder at a time, so a batch lasts long enough to pause, cancel and kill in the middle.
    await call('settingsSet', { workers: 1 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    page.on('pageerror', (e) => logs.push(`page error: ${e.message}`));
    await page.goto(app.url);
  }, LONG);

  // A failing test leaves a picture of where it stood.
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && page) await shot(page, `failed-${ctx.task.name.slice(0, 40).replace(/\W+/g, '-')}`);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('runs a folder from adding it to a summary that matches the files on disk, then redoes nothing', async () => {
    const lib = join(home, 'Pictures', 'Holiday');
    const out = join(home, 'Compressed');

    await expect.poll(() => page.getByTestId('drop-zone').isVisible(), { timeout: 30_000 }).toBe(true);
    await shot(page, '01-empty');

    await addFolder(lib);
    await shot(page, '02-scanning');
    const scan = page.getByTestId('scan-summary');
    await expect.poll(() => scan.getAttribute('data-scanning'), { timeout: 30_000 }).toBe('false');
    await expect.poll(() => scan.innerText(), { timeout: 10_000 }).toContain(String(PHOTOS.length));
    await shot(page, '03-library');

    await chooseOutput(out, 'balanced');
    await page.getByTestId('effort-fast').click();
    await expect.poll(() => page.getByTestId('save-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('saved');
    const preview = page.getByTestId('name-preview-row');
    await expect.poll(() => preview.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    const previewText = (await preview.allInnerTexts()).join('\n');
    expect(previewText).toContain('2019/beach.png');
    expect(previewText).toMatch(/\.sgai/);
    await shot(page, '04-name-preview');

    await page.getByTestId('estimate-run').click();
    await expect.poll(() => page.getByTestId('estimate-result').isVisible(), { timeout: 60_000 }).toBe(true);
    await shot(page, '05-estimate');

    await page.getByTestId('start').click();
    await page.getByTestId('nav-queue').click();
    const first = await latest();
    await expect.poll(async () => (await latest()).totals.done, { timeout: LONG }).toBeGreaterThanOrEqual(1);
    await shot(page, '06-running');
    await expect.poll(async () => (await latest()).totals.done, { timeout: LONG }).toBeGreaterThanOrEqual(2);

    // Pause: the running photo finishes, then nothing new starts.
    await page.getByTestId('queue-pause').click();
    await expect.poll(() => page.getByTestId('queue-bar').getAttribute('data-state'), { timeout: 10_000 }).toBe('paused');
    await expect.poll(async () => (await rowsOf(first.batchId)).filter((r) => r.state === 'running').length, { timeout: LONG }).toBe(0);
    const doneAtPause = (await latest()).totals.done;
    expect(doneAtPause, 'the batch finished before it could be paused').toBeLessThan(PHOTOS.length - 1);
    await new Promise((r) => setTimeout(r, 4000));
    const whilePaused = await rowsOf(first.batchId);
    expect(whilePaused.filter((r) => r.state === 'done').length).toBe(doneAtPause);
    expect(whilePaused.filter((r) => r.state === 'running')).toEqual([]);
    await shot(page, '07-paused');

    // Cancel the last queued photo from its row.
    const victim = whilePaused.filter((r) => r.state === 'queued').at(-1)!.id;
    await jobRow(victim).scrollIntoViewIfNeeded();
    await jobRow(victim).getByTestId('job-cancel').click();
    await expect.poll(() => jobRow(victim).getByTestId('job-cancelling').isVisible(), { timeout: 10_000 }).toBe(true);
    await shot(page, '07b-paused-cancel-one');

    // The engine drops a cancelled photo when the queue reaches it, so its row turns after resuming.
    await page.getByTestId('queue-resume').click();
    await expect.poll(() => jobRow(victim).getAttribute('data-state'), { timeout: LONG }).toBe('cancelled');
    await expect.poll(async () => (await latest()).state, { timeout: LONG * 2 }).toBe('done');
    const bar = page.getByTestId('queue-progressbar');
    await expect.poll(async () => (await bar.getAttribute('aria-valuenow')) === (await bar.getAttribute('aria-valuemax')), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => page.getByTestId('summary').isVisible(), { timeout: 20_000 }).toBe(true);
    await shot(page, '08-done-summary');

    // The summary against the files on disk.
    const done = await latest();
    expect(done.batchId).toBe(first.batchId);
    expect(done.totals).toMatchObject({ total: PHOTOS.length, done: PHOTOS.length - 1, cancelled: 1, failed: 0 });
    const rows = await rowsOf(done.batchId);
    const doneRows = rows.filter((r) => r.state === 'done');
    const files = outputsUnder(out);
    expect(files).toHaveLength(doneRows.length);
    expect(files.some((f) => f.includes(victim.replace(/\.png$/, '')))).toBe(false);
    const bytesOut = files.reduce((s, f) => s + statSync(join(out, f)).size, 0);
    const bytesIn = doneRows.reduce((s, r) => s + statSync(join(lib, r.id)).size, 0);
    expect(done.totals.bytesOut).toBe(bytesOut);
    expect(done.totals.bytesIn).toBe(bytesIn);
    expect(await page.getByTestId('summary-saved').innerText()).toBe(strings.summary.saved(bytesIn, bytesOut));
    expect(await page.getByTestId('summary-cancelled').innerText()).toBe(strings.summary.cancelled(1));
    expect(await page.getByTestId('summary-encoded').innerText()).toContain(strings.summary.encoded(PHOTOS.length - 1));

    // Every output decodes with the CLI, at the photo's size.
    const pngs = tempDir('sgai-e2e-decoded-');
    for (const [i, f] of files.entries()) {
      const png = join(pngs, `${i}.png`);
      const r = await runCli(['decode', join(out, f), '-o', png]);
      expect(r.code, `${f}: ${r.stderr}`).toBe(0);
      const m = await sharp(png).metadata();
      expect([m.width, m.height]).toEqual([CROP_W, CROP_H]);
    }

    // Second run: only the cancelled photo is left; the finished ones are not rewritten.
    const mtimes = new Map(files.map((f) => [f, statSync(join(out, f)).mtimeMs]));
    await page.getByTestId('nav-library').click();
    await expect.poll(() => page.getByTestId('start').innerText(), { timeout: 20_000 }).toBe(strings.start.label(1));
    await page.getByTestId('start').click();
    await page.getByTestId('nav-queue').click();
    await expect.poll(async () => ((await latest()).batchId !== first.batchId ? (await latest()).state : 'none'), { timeout: LONG }).toBe('done');
    const second = await latest();
    expect(second.totals).toMatchObject({ total: PHOTOS.length, encoded: 1, failed: 0, cancelled: 0 });
    expect(second.totals.done + second.totals.skipped).toBe(PHOTOS.length);
    for (const [f, m] of mtimes) expect(statSync(join(out, f)).mtimeMs, `${f} was rewritten`).toBe(m);
    expect(outputsUnder(out)).toHaveLength(PHOTOS.length);
    await expect.poll(() => page.getByTestId('summary').isVisible(), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => page.getByTestId('job-row').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await shot(page, '09-second-run');

    // A third start finds nothing to do.
    await page.getByTestId('nav-library').click();
    await expect.poll(() => page.getByTestId('start').isDisabled(), { timeout: 20_000 }).toBe(true);
    expect(await page.getByTestId('start-reason').innerText()).not.toBe('');
  }, 300_000);

  it('tells the photographer when the engine dies mid-batch, restarts it and finishes without redoing photos', async () => {
    const lib = join(home, 'Pictures', 'Wedding');
    const out = join(home, 'Wedding compressed');
    await makeCrops(lib, PHOTOS.slice(0, 8).map((p) => p.replace('2019', 'ceremony')));
    const before = new Set((await batches()).map((b) => b.batchId));
    await page.getByTestId('nav-library').click();
    await addFolder(lib);
    await expect.poll(() => page.getByTestId('scan-summary').getAttribute('data-scanning'), { timeout: 30_000 }).toBe('false');
    await chooseOutput(out, 'small');
    await page.getByTestId('start').click();
    await page.getByTestId('nav-queue').click();

    const batch = async () => (await batches()).find((b) => !before.has(b.batchId) && !b.resumedAfterRestart);
    await expect.poll(async () => (await batch())?.totals.done ?? 0, { timeout: LONG }).toBeGreaterThanOrEqual(2);
    const running = (await batch())!;
    const pid = app.engine.pid!;
    process.kill(pid, 'SIGKILL');
    // Until the new engine is up the API answers ENGINE_LOST, so what was finished is read from disk.
    const kept = new Map(outputsUnder(out).filter((f) => f.endsWith('.sgai')).map((f) => [f, statSync(join(out, f)).mtimeMs]));
    expect(kept.size).toBeGreaterThanOrEqual(2);
    expect(kept.size, 'the batch finished before the engine could be killed').toBeLessThan(running.totals.total);

    const banner = page.getByTestId('engine-banner');
    await expect.poll(() => banner.isVisible(), { timeout: 30_000 }).toBe(true);
    await shot(page, '11-engine-restart');
    expect(await banner.innerText()).toContain(strings.engine.lost);

    await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);
    // Polls retry while the API still answers ENGINE_LOST.
    await expect.poll(async () => (await batches()).find((b) => b.resumedAfterRestart && b.folderPath === lib)?.state, { timeout: LONG * 2 }).toBe('done');
    const resumed = (await batches()).find((b) => b.resumedAfterRestart && b.folderPath === lib)!;
    expect(resumed.totals).toMatchObject({ total: 8, done: 8, failed: 0 });
    expect(resumed.totals.resumed).toBeGreaterThanOrEqual(kept.size);
    expect(resumed.totals.encoded).toBe(8 - resumed.totals.resumed);
    for (const [f, m] of kept) expect(statSync(join(out, f)).mtimeMs, `${f} was redone after the restart`).toBe(m);
    expect(outputsUnder(out)).toHaveLength(8);
    await expect.poll(() => banner.innerText(), { timeout: 20_000 }).toContain(strings.engine.restarted);
    await shot(page, '11b-engine-restarted');
    await banner.getByTestId('engine-banner-dismiss').click();
    await expect.poll(() => banner.isVisible(), { timeout: 10_000 }).toBe(false);
  }, 300_000);

  it('shows a broken photo as failed with a reason the photographer can read', async () => {
    const lib = join(home, 'Pictures', 'Scans');
    await makeCrops(lib, ['good.png']);
    makeCorrupt(join(lib, 'broken.jpg'));
    await page.getByTestId('nav-library').click();
    await addFolder(lib);
    await expect.poll(() => page.getByTestId('scan-summary').getAttribute('data-scanning'), { timeout: 30_000 }).toBe('false');
    const out = join(home, 'Scans compressed');
    await chooseOutput(out, 'balanced');
    // A quality target instead of the preset: at most 1.5 bits per pixel, searched per photo.
    await page.getByTestId('preset-target').click();
    await page.getByTestId('target-kind').selectOption('bpp');
    await page.getByTestId('target-value').fill('1.5');
    await expect.poll(() => page.getByTestId('save-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('saved');
    const saved = (await call<LibraryFolder[]>('libraryList', {})).find((f) => f.path === lib);
    expect(saved?.output.quality).toEqual({ kind: 'bpp', value: 1.5 });
    await page.getByTestId('start').click();
    await page.getByTestId('nav-queue').click();
    await expect.poll(async () => (await batches()).find((b) => b.folderPath === lib)?.state, { timeout: LONG }).toBe('done');
    const row = jobRow('broken.jpg');
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 20_000 }).toBe('failed');
    const reason = await row.getByTestId('job-reason').innerText();
    expect(reason.length).toBeGreaterThan(10);
    expect(await page.getByTestId('summary-failed').innerText()).toContain(strings.summary.failed(1));
    await shot(page, '10-error');
    // The good photo met its target: the written file holds at most 1.5 bits per pixel.
    const written = listFiles(out).filter((f) => f.endsWith('.sgai'));
    expect(written).toHaveLength(1);
    expect((statSync(join(out, written[0])).size * 8) / (CROP_W * CROP_H)).toBeLessThanOrEqual(1.5);

    await page.getByTestId('nav-settings').click();
    await shot(page, '12-settings');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByTestId('nav-queue').click();
    await shot(page, '13-dark-theme');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(logs.filter((l) => l.startsWith('page error'))).toEqual([]);
  }, 200_000);
});
