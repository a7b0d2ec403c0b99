/**
 * The desktop app end to end through Playwright's Electron driver: build, launch with a fresh
 * profile, add a folder (the native dialog answered in main), compress it, see the batch done, find
 * decodable .sgai files on disk, and quit cleanly (the engine process gone). And opening files: a
 * .sgai on the command line shows in the viewer at start; launching the app again with another one
 * (a second instance, which quits at once) shows that one in the first window.
 *
 * It needs the Electron binary (`require('electron')` → a path that exists). Where there is none
 * (a machine that cannot download it), the test is reported as skipped, with the reason in its name.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeFile, verifySgai } from '../src/core';
import { makePhoto } from './engine-fixtures';
import { TEST_MODEL_ID, tempDir } from './helpers';

const ROOT = join(import.meta.dirname, '..');

function electronBinary(): string | null {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown;
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null; // node_modules/electron without its download throws "Electron failed to install correctly"
  }
}
const electronPath = electronBinary();
const hasElectron = electronPath !== null;

const PHOTOS = ['a.jpg', 'trip/b.jpg', 'trip/c.png'];

let built = false;
/** The app as electron-vite builds it (out/), once per run. */
function build(): void {
  if (built) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: ROOT, stdio: 'inherit' });
  built = true;
}

describe('electron app', () => {
  it.skipIf(!hasElectron)(
    hasElectron ? 'electron app: add a folder, compress it, see it done, quit cleanly' : 'electron app (skipped: no Electron binary on this machine)',
    async () => {
      const { _electron } = await import('playwright-core');
      build();

      const lib = tempDir('sgai-electron-lib-');
      for (const [i, rel] of PHOTOS.entries()) await makePhoto(join(lib, rel), { seed: i });
      const userData = tempDir('sgai-electron-profile-');

      let enginePids: number[] = [];
      const app = await _electron.launch({
        executablePath: electronPath!,
        args: [ROOT],
        cwd: ROOT,
        env: { ...process.env, SGAI_USER_DATA_DIR: userData, ELECTRON_RENDERER_URL: '' } as Record<string, string>,
        timeout: 60_000,
      });
      try {
        // The native folder dialog cannot be clicked by a test: main's dialog answers with the folder.
        await app.evaluate(({ dialog }, dir) => {
          dialog.showOpenDialog = (async () => ({ canceled: false, filePaths: [dir] })) as typeof dialog.showOpenDialog;
        }, lib);
        const page = await app.firstWindow();
        expect(await page.evaluate(() => typeof (window as { sgai?: unknown }).sgai)).toBe('object');
        // The page cannot reach Node: the bridge is all it has.
        expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');

        await page.getByTestId('choose-folder').click();
        await page.getByTestId('folder-row').first().waitFor({ state: 'visible', timeout: 60_000 });
        await page.getByTestId('scan-summary').waitFor({ state: 'visible', timeout: 60_000 });
        await page.waitForFunction((n) => document.querySelectorAll('[data-testid="photo-row"]').length === n, PHOTOS.length, { timeout: 60_000 });

        // Short and certain: no refinement, and no minimum saving (tiny test photos barely shrink).
        await page.getByTestId('effort-off').click();
        await page.getByTestId('min-savings').fill('0');
        await page.waitForSelector('[data-testid="save-state"][data-state="saved"]', { timeout: 30_000 });
        await page.getByTestId('start').click();
        await page.waitForSelector('[data-testid="summary"][data-state="done"]', { timeout: 300_000 });

        const out = `${lib} (sgai)`;
        const written = readdirSync(out, { recursive: true }).map(String).filter((f) => f.endsWith('.sgai')).sort();
        expect(written).toEqual(['a.sgai', 'trip/b.sgai', 'trip/c.sgai']);
        for (const f of written) verifySgai(readFileSync(join(out, f)));
      } finally {
        // Quitting stops the engine first (a utility process named "sgai engine"); it must be gone after.
        const metrics = await app.evaluate(({ app: electronApp }) => electronApp.getAppMetrics().map((m) => ({ pid: m.pid, name: m.serviceName ?? m.name ?? '' })));
        enginePids = metrics.filter((m) => m.name === 'sgai engine').map((m) => m.pid);
        await app.close();
      }
      expect(enginePids).toHaveLength(1);
      for (const pid of enginePids) expect(() => process.kill(pid, 0)).toThrow();
      // The engine wrote its state into the profile, not anywhere else.
      expect(existsSync(join(userData, 'library.json'))).toBe(true);
    },
    600_000,
  );

  it.skipIf(!hasElectron)(
    hasElectron ? 'electron app: a .sgai on the command line opens in the viewer; a second launch with another shows it in the same window' : 'electron app, opening .sgai files (skipped: no Electron binary on this machine)',
    async () => {
      const { _electron } = await import('playwright-core');
      build();
      const dir = tempDir('sgai-electron-open-');
      for (const [i, stem] of ['first', 'second'].entries()) {
        await makePhoto(join(dir, `${stem}.jpg`), { w: 160, h: 120, seed: i });
        writeFileSync(join(dir, `${stem}.sgai`), (await encodeFile(join(dir, `${stem}.jpg`), { model: TEST_MODEL_ID })).bytes);
      }
      const env = { ...process.env, SGAI_USER_DATA_DIR: tempDir('sgai-electron-profile-'), ELECTRON_RENDERER_URL: '' } as Record<string, string>;

      // `electron <app> <file>`: the app path is skipped, the file waits for the page, which opens it.
      const app = await _electron.launch({ executablePath: electronPath!, args: [ROOT, join(dir, 'first.sgai')], cwd: ROOT, env, timeout: 60_000 });
      try {
        const page = await app.firstWindow();
        await page.getByTestId('viewer').waitFor({ state: 'visible', timeout: 60_000 });
        await page.waitForFunction(() => document.querySelector('[data-testid="viewer-name"]')?.textContent?.includes('first.sgai'), undefined, { timeout: 60_000 });

        // A second launch with the same profile does not get the lock: it hands its argv (relative to its folder) over and quits.
        const second = spawn(electronPath!, [ROOT, 'second.sgai'], { cwd: dir, env, stdio: 'ignore' });
        const code = await new Promise<number | null>((r) => second.on('exit', (c) => r(c)));
        expect(code).toBe(0);
        await page.waitForFunction(() => document.querySelector('[data-testid="viewer-name"]')?.textContent?.includes('second.sgai'), undefined, { timeout: 60_000 });
        expect(app.windows()).toHaveLength(1);
      } finally {
        await app.close();
      }
    },
    600_000,
  );
});
