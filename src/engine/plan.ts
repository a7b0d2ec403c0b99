/**
 * A batch plan: the photos (scanned), their output names, and this process's shard of them.
 * Names are given over the whole batch before sharding, so every shard of one library agrees
 * with an unsharded run on every name, including ' (2)' suffixes and {n}.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { SgaiError } from '../core';
import { readManifest, outputOwners, type ManifestContents } from './manifest';
import { nameOutputs, type ConflictPolicy, type NamedJob } from './naming';
import { compareRel, emptyCounts, realFolder, scanSources, sourceRootOf, type ScanCounts, type SourceFile } from './scan';

export interface Shard {
  k: number;
  n: number;
}

export interface BatchSpec {
  /** Folders and/or photo files. */
  inputs: string[];
  /** Output root (mirror layout); in beside layout the manifest goes to the source root. */
  outRoot?: string;
  layout?: 'mirror' | 'beside';
  template?: string;
  suffix?: string;
  conflict?: ConflictPolicy;
  /** The {preset} token's value (a preset id, or the model id). */
  preset: string;
  include?: string[];
  exclude?: string[];
  followSymlinks?: boolean;
  shard?: Shard;
  signal?: AbortSignal;
  /** Called as photos are found, with the live counts. */
  onScan?: (counts: ScanCounts) => void;
}

export type PlannedJob = NamedJob;

export interface BatchPlan {
  sourceRoot: string;
  outRoot: string;
  /** This shard's jobs, in batch order. */
  jobs: PlannedJob[];
  /** Jobs in the whole batch (all shards). */
  batchSize: number;
  shard?: Shard;
  counts: ScanCounts;
  manifest: ManifestContents;
}

/** Parses "k/n" (0 <= k < n). */
export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || k >= n || n > 1e6) {
    throw new SgaiError('INVALID_ARGUMENT', `--shard must be k/n with 0 <= k < n, e.g. 0/4 for the first of four (got "${s}")`);
  }
  return { k, n };
}

/** The shard a photo belongs to: sha1 of its relative path (UTF-8), so any machine computes the same. */
export function shardOf(rel: string, n: number): number {
  const h = createHash('sha1').update(rel.normalize('NFC'), 'utf8').digest();
  return Number(h.readBigUInt64BE(0) % BigInt(n));
}

/** Scans the inputs and names every output; reads the output root's manifest for what sgai wrote. */
export async function planBatch(spec: BatchSpec): Promise<BatchPlan> {
  if (!spec.inputs.length) throw new SgaiError('INVALID_ARGUMENT', 'no folders or photos given');
  const layout = spec.layout ?? 'mirror';
  const sourceRoot = await sourceRootOf(spec.inputs);
  if (layout === 'mirror' && !spec.outRoot) throw new SgaiError('INVALID_ARGUMENT', 'say where the .sgai files go (--out FOLDER)');
  const outRoot = layout === 'mirror' ? resolve(spec.outRoot!) : sourceRoot;
  if (layout === 'mirror') {
    const [realOut, realSrc] = [await realFolder(outRoot), await realFolder(sourceRoot)];
    if (realOut === realSrc) {
      throw new SgaiError('INVALID_ARGUMENT', `the output folder ${outRoot} is the input folder itself; choose another folder (a folder inside it is fine: it is not scanned)`);
    }
  }
  const counts = emptyCounts();
  const found: SourceFile[] = [];
  const seen = new Set<string>();
  for await (const f of scanSources(spec.inputs, {
    include: spec.include, exclude: spec.exclude, followSymlinks: spec.followSymlinks,
    skipFolders: layout === 'mirror' ? [outRoot] : [], counts, signal: spec.signal,
  })) {
    if (seen.has(f.rel)) continue; // a photo named twice (a file and its folder) is one job
    seen.add(f.rel);
    found.push(f);
    spec.onScan?.(counts);
  }
  found.sort((a, b) => compareRel(a.rel, b.rel));
  const manifest = await readManifest(outRoot);
  const named = await nameOutputs(found, {
    outRoot, layout, template: spec.template, suffix: spec.suffix, preset: spec.preset, conflict: spec.conflict,
  }, outputOwners(manifest.records));
  const shard = spec.shard;
  const jobs = shard ? named.filter((j) => shardOf(j.source.rel, shard.n) === shard.k) : named;
  return { sourceRoot, outRoot, jobs, batchSize: named.length, shard, counts, manifest };
}
