/**
 * Fixtures for the viewer's end-to-end test: a camera-like photo (EXIF with camera, capture date
 * and GPS, a Display P3 profile) big enough to pan at 100 %, and a second photo, both encoded to
 * .sgai beside their originals by the real CLI; four damaged .sgai files (cut in half, a flipped
 * byte in a y tile, a model that is not installed, not an .sgai at all); and `sgai app --browser`
 * started as a user starts it, in a child process.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeSgai, encodeSgai, listChunks } from '../src/core';
import { photoSources } from './e2e-helpers';
import { ROOT, runCli } from './helpers';

/** The main photo: 2 × 2 cells of 768 × 512, so 100 % overflows a laptop-sized window and can be panned. */
export const MAIN = { name: 'street', width: 1536, height: 1024 } as const;
export const SECOND = { name: 'tower', width: 768, height: 512 } as const;

export const CAMERA = { make: 'SgaiCam', model: 'Field 7', latitude: 52 + 31 / 60 + 12 / 3600, longitude: 13 + 24 / 60 + 36 / 3600 };
const EXIF = {
  IFD0: { Make: CAMERA.make, Model: CAMERA.model, Copyright: 'Test photo' },
  IFD2: { DateTimeOriginal: '2024:06:21 18:42:07', ExposureTime: '1/250', FNumber: '56/10', ISOSpeedRatings: '200', LensModel: 'Sgai 35mm F1.8' },
  IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '52/1 31/1 1200/100', GPSLongitudeRef: 'E', GPSLongitude: '13/1 24/1 3600/100' },
};

const cell = (src: string, width: number, height: number) => sharp(src).resize(width, height, { fit: 'cover' }).removeAlpha().toBuffer();

/**
 * `<dir>/street.jpg` (EXIF + P3, 1536 × 1024) and `<dir>/tower.jpg` (768 × 512, no metadata), each
 * with its .sgai beside it made by `sgai encode`. Returns the paths and where the photos came from.
 */
export async function makeViewerPhotos(dir: string): Promise<{ main: string; mainOriginal: string; second: string; note: string }> {
  mkdirSync(dir, { recursive: true });
  const { files, note } = photoSources();
  const pick = (i: number) => files[i % files.length];
  const cells = await Promise.all([2, 4, 6, 20].map((i) => cell(pick(i), MAIN.width / 2, MAIN.height / 2)));
  const mainOriginal = join(dir, `${MAIN.name}.jpg`);
  await sharp({ create: { width: MAIN.width, height: MAIN.height, channels: 3, background: '#000' } })
    .composite(cells.map((input, i) => ({ input, left: (i % 2) * (MAIN.width / 2), top: Math.floor(i / 2) * (MAIN.height / 2) })))
    .withIccProfile('p3')
    .withExif(EXIF)
    .jpeg({ quality: 92 })
    .toFile(mainOriginal);
  const secondOriginal = join(dir, `${SECOND.name}.jpg`);
  await sharp(await cell(pick(22), SECOND.width, SECOND.height)).jpeg({ quality: 92 }).toFile(secondOriginal);
  const r = await runCli(['encode', mainOriginal, secondOriginal, '-o', `${dir}/`]);
  if (r.code !== 0) throw new Error(`sgai encode failed (${r.code}): ${r.stderr}`);
  return { main: join(dir, `${MAIN.name}.sgai`), mainOriginal, second: join(dir, `${SECOND.name}.sgai`), note };
}

export interface DamagedFiles {
  truncated: string;
  corrupt: string;
  unknownModel: string;
  notSgai: string;
}

/** Four broken copies of `good` in `dir`, each damaged the way it happens to real files. */
export function makeDamaged(good: string, dir: string): DamagedFiles {
  mkdirSync(dir, { recursive: true });
  const bytes = new Uint8Array(readFileSync(good));
  const out: DamagedFiles = {
    truncated: join(dir, 'cut-in-half.sgai'), corrupt: join(dir, 'flipped-byte.sgai'),
    unknownModel: join(dir, 'other-model.sgai'), notSgai: join(dir, 'not-an-sgai.sgai'),
  };
  // A copy that stopped half way.
  writeFileSync(out.truncated, bytes.subarray(0, bytes.length >> 1));
  // One byte flipped inside the first y tile's stream: its CRC no longer matches.
  const tile = listChunks(bytes).chunks.find((c) => c.type === 'YTIL');
  if (!tile) throw new Error(`${good} has no YTIL chunk`);
  const flipped = new Uint8Array(bytes);
  flipped[tile.offset + 8 + 4 + Math.floor((tile.length - 4) / 2)] ^= 0xff;
  writeFileSync(out.corrupt, flipped);
  // Made with a model this install does not have: another id and weights hash in the header, CRCs right.
  const file = decodeSgai(bytes);
  writeFileSync(out.unknownModel, encodeSgai({
    ...file, header: { ...file.header, modelId: 'sgai-msh-c64-l9999', weightsSha256: new Uint8Array(32).fill(0x5a) },
  }));
  // A text file someone named .sgai.
  writeFileSync(out.notSgai, 'These are my notes about the trip, not a picture.\n'.repeat(20));
  return out;
}

export interface AppProcess {
  url: string;
  port: number;
  token: string;
  /** What the server wrote to stderr so far (engine lines, refusals). */
  stderr(): string;
  /** Ctrl-C, as a user stops it; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** `sgai app --browser ARGS...` in a child process, resolved once it prints its URL. */
export function startAppProcess(args: string[]): Promise<AppProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'sgai.mjs'), 'app', '--browser', '--port', '0', ...args], { cwd: ROOT, env: process.env });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /running at (\S+)/.exec(stdout);
      if (!m || !stdout.includes('Ctrl-C stops the server')) return;
      const url = new URL(m[1]);
      resolve({
        url: m[1], port: Number(url.port), token: new URLSearchParams(url.hash.slice(1)).get('token') ?? '',
        stderr: () => stderr,
        stop: () => {
          if (child.exitCode === null) child.kill('SIGINT');
          return exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`sgai app exited (${code}) before serving: ${stderr}`)));
  });
}
