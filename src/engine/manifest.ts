/**
 * The batch manifest: `<out>/.sgai-batch/manifest.jsonl`, one JSON line per state change,
 * appended and fsynced. Append-only because that is what survives a crash (or SIGKILL, or
 * a laptop losing power) mid-write: at worst the last line is torn, and a torn line is ignored
 * on read. Several processes (shards) may append to one manifest: each line is one write to an
 * O_APPEND file, which the OS does not interleave.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { SgaiError } from '../core';

export const MANIFEST_DIR = '.sgai-batch';
export const MANIFEST_FILE = 'manifest.jsonl';

export const ManifestRecord = z.object({
  v: z.literal(1),
  /** ISO time of the state change. */
  at: z.string(),
  /** Source path relative to the source root, '/'-separated. */
  source: z.string(),
  size: z.number(),
  mtimeMs: z.number(),
  /** sha256 (hex) of the source bytes. */
  sha256: z.string(),
  /** settingsHash() of what the photo was (to be) encoded with. */
  settings: z.string(),
  /** Output path relative to the output root ('/'-separated); absent when nothing is written. */
  output: z.string().optional(),
  /**
   * started: written before the encode, so an output that appears before its 'done' line (a kill
   * between rename and append) is still known to be sgai's own. done only after the rename.
   */
  state: z.enum(['started', 'done', 'failed', 'skipped']),
  reason: z.string().optional(),
  result: z.object({
    bytes: z.number(),
    bpp: z.number().optional(),
    seconds: z.number(),
    width: z.number().optional(),
    height: z.number().optional(),
    /** PSNR of the written file against the original (batch --verify checked it before the rename). */
    psnr: z.number().optional(),
    /** The original was copied instead (min-savings with copy). */
    copiedOriginal: z.boolean().optional(),
  }).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type ManifestRecord = z.infer<typeof ManifestRecord>;

export interface ManifestContents {
  records: ManifestRecord[];
  /** Lines that could not be read (a torn last line after a crash, or damage). */
  badLines: number;
}

export const manifestPath = (outRoot: string) => join(outRoot, MANIFEST_DIR, MANIFEST_FILE);

/** Every readable record, in order; a missing manifest is an empty one. */
export async function readManifest(outRoot: string): Promise<ManifestContents> {
  let text: string;
  try {
    text = await readFile(manifestPath(outRoot), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], badLines: 0 };
    throw new SgaiError('IO', `cannot read the batch manifest ${manifestPath(outRoot)}: ${(e as Error).message}`);
  }
  const records: ManifestRecord[] = [];
  let badLines = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = ManifestRecord.safeParse(JSON.parse(line));
      if (r.success) records.push(r.data);
      else badLines++;
    } catch {
      badLines++;
    }
  }
  return { records, badLines };
}

/** The latest record per source: what a resumed run starts from. */
export function replay(records: readonly ManifestRecord[]): Map<string, ManifestRecord> {
  const latest = new Map<string, ManifestRecord>();
  for (const r of records) latest.set(r.source, r);
  return latest;
}

/** Output path → the source that (last) claimed it: the files sgai wrote or was writing. */
export function outputOwners(records: readonly ManifestRecord[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const r of records) if (r.output) owners.set(r.output, r.source);
  return owners;
}

/** Appends records to one output root's manifest, each line durable before the call returns. */
export class ManifestWriter {
  private ready: Promise<void> | undefined;
  constructor(readonly outRoot: string) {}

  private async prepare(): Promise<void> {
    await mkdir(join(this.outRoot, MANIFEST_DIR), { recursive: true });
    // A torn last line (crash mid-append) must not swallow the next record: end it first.
    const fh = await open(manifestPath(this.outRoot), 'a+');
    try {
      const { size } = await fh.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await fh.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) await fh.write('\n');
      }
    } finally {
      await fh.close();
    }
  }

  async append(rec: Omit<ManifestRecord, 'v' | 'at'>): Promise<void> {
    this.ready ??= this.prepare();
    await this.ready;
    const line = `${JSON.stringify({ v: 1, at: new Date().toISOString(), ...rec })}\n`;
    let fh;
    try {
      fh = await open(manifestPath(this.outRoot), 'a');
      await fh.write(line);
      await fh.sync();
    } catch (e) {
      throw new SgaiError('IO', `cannot write the batch manifest ${manifestPath(this.outRoot)}: ${(e as Error).message}`);
    } finally {
      await fh?.close();
    }
  }
}

/** sha256 (hex) of any JSON-able settings object, keys sorted so the order they were built in does not matter. */
export function settingsHash(settings: unknown): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon)
    : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => [k, canon((v as Record<string, unknown>)[k])]))
    : v;
  return createHash('sha256').update(JSON.stringify(canon(settings))).digest('hex');
}
