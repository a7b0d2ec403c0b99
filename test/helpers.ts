import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { floatToRaster, rasterToFloatRegion, type RasterImage } from '../src/core/image/raster';
import { readImage } from '../src/core/image/read';

export const ROOT = resolve(__dirname, '..');
export const KODAK = resolve(ROOT, '..', 'shared', 'datasets', 'kodak');
export const kodim = (i: number) => join(KODAK, `kodim${String(i).padStart(2, '0')}.png`);
export const TEST_MODEL_ID = 'sgai-test-n32m48';
export const TEST_MODEL_PATH = join(ROOT, 'test', 'fixtures', 'models', `${TEST_MODEL_ID}.safetensors`);

export function tempDir(prefix = 'sgai-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult { code: number; stdout: string; stderr: string; peakRssMb?: number }

/** Run the real `sgai` CLI in a child process; peak RSS is what the CLI itself reports. */
export function runCli(args: string[], opts: { env?: Record<string, string> } = {}): Promise<CliResult> {
  // bin/sgai.mjs, as users run it: one process, tsx's loader in-process.
  const cmd = [process.execPath, join(ROOT, 'bin', 'sgai.mjs'), ...args];
  return new Promise((res, rej) => {
    const p = spawn(cmd[0], cmd.slice(1), { cwd: ROOT, env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', rej);
    p.on('close', (code) => {
      const m = /peak RSS: (\d+) MB/.exec(stderr);
      res({ code: code ?? -1, stdout, stderr, peakRssMb: m ? Number(m[1]) : undefined });
    });
  });
}

/** An 8-bit raster of a region of a Kodak image (x, y, w, h in pixels; -1 for x/y centres it). */
export async function kodakCrop(i: number, x: number, y: number, w: number, h: number): Promise<RasterImage> {
  const { image } = await readImage(kodim(i));
  const cx = x < 0 ? (image.width - w) >> 1 : x;
  const cy = y < 0 ? (image.height - h) >> 1 : y;
  return floatToRaster(rasterToFloatRegion(image, cx, cy, w, h), w, h, 8);
}

/** Every file under root (not folders), as sorted paths relative to root. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(root, join(d, e.name)));
    }
  };
  walk(root);
  return out.sort();
}

/**
 * Mounts a tmpfs at dir (created) with `mount -o options`; false where mounting is not permitted
 * (the caller then skips and says which test covers the case). The mount point is added to
 * `mounts` so the suite can `umount -l` it in afterAll.
 */
export function tryMountTmpfs(dir: string, options: string, mounts: string[]): boolean {
  mkdirSync(dir);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]).status !== 0) return false;
  mounts.push(dir);
  return true;
}

/** Whether a process with this pid still runs (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
