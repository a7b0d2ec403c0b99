/**
 * Small helpers for driving codec command-line tools: run a binary with a wall-clock timer,
 * find binaries on PATH, ask Debian for package versions, and read/write binary PNM (the
 * lossless interchange format every classic tool here understands without extra libraries).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type RasterImage, SgaiError } from '../../src/core';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command without a shell; `ms` is the wall time from spawn to exit. */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs) : undefined;
    p.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new SgaiError('IO', `cannot run ${cmd}: ${e.message}`, { cause: e }));
    });
    p.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolveRun({ code: code ?? -1, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Like run(), but a non-zero exit is an SgaiError carrying the tool's own message. */
export async function runOk(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const msg = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
    throw new SgaiError('IO', `${cmd} ${args.join(' ')} exited with ${r.code}: ${msg}`);
  }
  return r;
}

/** Absolute path of an executable on PATH, or null. */
export function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** Debian package version (dpkg-query), or null where there is no dpkg or no such package. */
export async function debVersion(pkg: string): Promise<string | null> {
  if (!which('dpkg-query')) return null;
  const r = await run('dpkg-query', ['-W', '-f=${Version}', pkg]).catch(() => null);
  return r && r.code === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/** First line of a tool's output that matches `pattern` (tools print versions on either stream). */
export async function toolVersion(cmd: string, args: string[], pattern: RegExp): Promise<string | null> {
  const r = await run(cmd, args, { timeoutMs: 10_000 }).catch(() => null);
  if (!r) return null;
  const line = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => pattern.test(l));
  return line ? line.trim() : null;
}

/** Binary PPM (P6) of an 8-bit image. */
export function encodePpm(img: RasterImage): Buffer {
  if (img.bitDepth !== 8) throw new SgaiError('INVALID_ARGUMENT', 'PPM export is only for 8-bit images here');
  return Buffer.concat([Buffer.from(`P6\n${img.width} ${img.height}\n255\n`, 'ascii'), Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength)]);
}

/**
 * Reads binary PNM: P6 (RGB) or P5 (grey, expanded to RGB), maxval 255 or up to 65535 (16-bit
 * samples are big-endian per the format and are scaled to 8 bits, since every metric here
 * compares 8-bit output).
 */
export function decodePnm(buf: Uint8Array): RasterImage {
  let pos = 0;
  const token = (): string => {
    for (;;) {
      while (pos < buf.length && /\s/.test(String.fromCharCode(buf[pos]))) pos++;
      if (buf[pos] === 0x23) {
        while (pos < buf.length && buf[pos] !== 0x0a) pos++;
        continue;
      }
      break;
    }
    const start = pos;
    while (pos < buf.length && !/\s/.test(String.fromCharCode(buf[pos]))) pos++;
    return Buffer.from(buf.subarray(start, pos)).toString('ascii');
  };
  const magic = token();
  if (magic !== 'P6' && magic !== 'P5') throw new SgaiError('UNSUPPORTED_IMAGE', `not a binary PPM/PGM (magic "${magic}")`);
  const width = Number(token());
  const height = Number(token());
  const maxval = Number(token());
  pos++; // exactly one whitespace byte before the raster
  if (!(width > 0 && height > 0 && maxval > 0 && maxval < 65536)) throw new SgaiError('CORRUPT', 'bad PNM header');
  const ch = magic === 'P6' ? 3 : 1;
  const bps = maxval > 255 ? 2 : 1;
  const need = width * height * ch * bps;
  if (buf.length - pos < need) throw new SgaiError('TRUNCATED', `PNM raster is ${buf.length - pos} bytes, expected ${need}`);
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) {
      const s = pos + (i * ch + (ch === 3 ? c : 0)) * bps;
      const v = bps === 2 ? (buf[s] << 8) | buf[s + 1] : buf[s];
      out[i * 3 + c] = maxval === 255 ? v : Math.round((v * 255) / maxval);
    }
  }
  return { width, height, bitDepth: 8, data: out };
}
