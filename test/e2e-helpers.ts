/**
 * Fixtures for the end-to-end UI tests: photo folders made of real Kodak crops (sharp), Debian's
 * Chromium through playwright-core, the built renderer, and one screenshot per screen and state
 * into test-results/ui/ (kept by .ci/run).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { KODAK, ROOT } from './helpers';

export const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = join(ROOT, 'test-results', 'ui');
export const RENDERER_INDEX = join(ROOT, 'out', 'renderer', 'index.html');
const SAMPLE = join(ROOT, 'resources', 'sample', 'mike-castro-demaria-94BUerwdFP8-unsplash.jpg');

/** The UI tests are part of the product's tests: without Chromium they fail, never skip. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the UI tests need Debian's Chromium at ${CHROMIUM}: install it with \`apt-get install chromium\``);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox'] });
}

/** Builds the renderer once when it is missing or older than its sources (CI builds it first anyway). */
export function ensureRenderer(): void {
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs), 0);
  if (existsSync(RENDERER_INDEX) && statSync(RENDERER_INDEX).mtimeMs >= newest(join(ROOT, 'src', 'renderer'))) return;
  execFileSync('npx', ['electron-vite', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  // Let bars and fades finish their short transitions, so the picture shows the state, not a frame of an animation.
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Where the crops come from: the Kodak set when ../shared has it, else the bundled sample photo. */
function sources(): { files: string[]; note: string } {
  const kodak = existsSync(KODAK) ? readdirSync(KODAK).filter((f) => /^kodim\d+\.png$/.test(f)).sort() : [];
  if (kodak.length) return { files: kodak.map((f) => join(KODAK, f)), note: `photos: crops of the Kodak set in ${KODAK}` };
  return { files: [SAMPLE], note: `photos: ${KODAK} is missing, so crops of the bundled sample ${SAMPLE} stand in for the Kodak set` };
}

export const CROP_W = 256;
export const CROP_H = 192;

/**
 * Writes PNG crops (CROP_W × CROP_H) at the given relative paths under root, each from a different
 * place of a different source photo, so every file is a real, distinct photo.
 */
export async function makeCrops(root: string, rels: string[]): Promise<string> {
  const { files, note } = sources();
  for (const [i, rel] of rels.entries()) {
    const src = files[i % files.length];
    const meta = await sharp(src).metadata();
    const maxX = (meta.width ?? CROP_W) - CROP_W;
    const maxY = (meta.height ?? CROP_H) - CROP_H;
    const step = Math.floor(i / files.length) + 1;
    const left = Math.max(0, Math.min(maxX, (step * 97 + i * 31) % (maxX + 1)));
    const top = Math.max(0, Math.min(maxY, (step * 53 + i * 17) % (maxY + 1)));
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    await sharp(src).extract({ left, top, width: CROP_W, height: CROP_H }).png().toFile(path);
  }
  return note;
}

/** A file named like a photo whose bytes are not an image (a truncated copy gone wrong). */
export function makeCorrupt(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('this is not the rest of a JPEG '.repeat(40))]));
}

/** The photos fixtures are cut from (Kodak, or the bundled sample without ../shared), and which they are. */
export const photoSources = (): { files: string[]; note: string } => sources();
