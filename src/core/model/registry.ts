/**
 * Finds installed models. A model is a `<id>.safetensors` file with a `<id>.json` card beside
 * it; folders are searched in order: $SGAI_MODELS_DIR (colon-separated), the caller's extra
 * folders, the shipped resources/models and the user's own models folder. A model the user
 * names is the first with that id (findModel); a .sgai file's model is the one with its id AND
 * its weights hash, wherever it sits in that order (findModelForFile).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SgaiError } from '../errors';
import { loadHyperprior, type HyperpriorWeights } from './weights';

export interface ModelCard {
  id: string;
  architecture: string;
  N: number;
  M: number;
  lambda: number;
  steps?: number;
  quality?: number;
  dtype?: string;
  sha256?: string;
  trainingData?: string;
  hardware?: string;
  trainingTime?: string;
  kodak?: { bpp?: number; psnr?: number; measuredWith?: string };
  [k: string]: unknown;
}

export interface InstalledModel {
  card: ModelCard;
  weightsPath: string;
  dir: string;
}

export interface LoadedModel extends InstalledModel {
  weights: HyperpriorWeights;
}

/** The package root (where package.json lives), found from this file's location. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'resources'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export const SHIPPED_MODELS_DIR = join(packageRoot(), 'resources', 'models');
export const TEST_MODELS_DIR = join(packageRoot(), 'test', 'fixtures', 'models');
export const USER_MODELS_DIR = join(homedir(), '.sgai', 'models');

export function modelDirs(extra: string[] = []): string[] {
  const env = (process.env.SGAI_MODELS_DIR ?? '').split(delimiter).filter(Boolean);
  return [...env, ...extra, SHIPPED_MODELS_DIR, USER_MODELS_DIR].map((d) => resolve(d));
}

function readCard(path: string): ModelCard | null {
  try {
    const card = JSON.parse(readFileSync(path, 'utf8')) as ModelCard;
    return typeof card.id === 'string' && typeof card.N === 'number' && typeof card.M === 'number' ? card : null;
  } catch {
    return null;
  }
}

/** Every installed model in search order, including later copies of an id that an earlier folder shadows. */
export function listAllModels(extra: string[] = []): InstalledModel[] {
  const out: InstalledModel[] = [];
  const dirs = new Set<string>();
  for (const dir of modelDirs(extra)) {
    if (dirs.has(dir) || !existsSync(dir)) continue; // a folder named twice is one folder
    dirs.add(dir);
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue; // not a folder, or unreadable: nothing installed there
    }
    for (const name of names) {
      if (!name.endsWith('.json') || name === 'registry.json') continue;
      const card = readCard(join(dir, name));
      const weightsPath = join(dir, name.replace(/\.json$/, '.safetensors'));
      if (card && existsSync(weightsPath)) out.push({ card, weightsPath, dir });
    }
  }
  return out;
}

/** Installed models, one per id: the first in search order wins. */
export function listModels(extra: string[] = []): InstalledModel[] {
  const seen = new Set<string>();
  return listAllModels(extra).filter((m) => {
    if (seen.has(m.card.id)) return false;
    seen.add(m.card.id);
    return true;
  });
}

/**
 * The model used when none is named: the shipped registry's default, else the compact model
 * nearest the middle quality, else (a development checkout without trained weights) the
 * seeded test model, flagged so the CLI can say so.
 */
export function defaultModel(extra: string[] = []): { model: InstalledModel; isTestModel: boolean } {
  const reg = join(SHIPPED_MODELS_DIR, 'registry.json');
  const models = listModels(extra);
  if (existsSync(reg)) {
    try {
      const r = JSON.parse(readFileSync(reg, 'utf8')) as { default?: string };
      const hit = models.find((m) => m.card.id === r.default);
      if (hit) return { model: hit, isTestModel: false };
    } catch {
      /* a broken registry falls through to scanning */
    }
  }
  const trained = models.filter((m) => m.dir === resolve(SHIPPED_MODELS_DIR));
  if (trained.length) {
    const byMid = [...trained].sort((a, b) => Math.abs(Math.log(a.card.lambda / 0.0067)) - Math.abs(Math.log(b.card.lambda / 0.0067)) || a.card.N - b.card.N);
    return { model: byMid[0], isTestModel: false };
  }
  const test = listModels([TEST_MODELS_DIR]).find((m) => m.dir === resolve(TEST_MODELS_DIR));
  if (test) return { model: test, isTestModel: true };
  throw new SgaiError('MODEL_NOT_INSTALLED', 'no sgai model is installed (resources/models is empty)');
}

/** A model named by the user (`--model ID` on encode): the first installed one with that id. */
export function findModel(id: string, extra: string[] = []): InstalledModel {
  const hit = listModels([...extra, TEST_MODELS_DIR]).find((m) => m.card.id === id);
  if (!hit) {
    throw new SgaiError('MODEL_NOT_INSTALLED', `unknown model "${id}"; run \`sgai models\` to list the installed ones`);
  }
  return hit;
}

const hashes = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

/**
 * sha256 (hex) of a model's weights file, as recorded in .sgai headers. Cached by path, size and
 * mtime, so a lookup does not re-read megabytes of weights every call, yet a replaced file is
 * hashed again.
 */
export function weightsSha256(weightsPath: string): string {
  let st: { size: number; mtimeMs: number };
  let bytes: Uint8Array;
  try {
    st = statSync(weightsPath);
    const hit = hashes.get(weightsPath);
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;
    bytes = readFileSync(weightsPath);
  } catch (e) {
    throw new SgaiError('IO', `cannot read model weights ${weightsPath}: ${(e as Error).message}`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  hashes.set(weightsPath, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
  return sha256;
}

/**
 * The installed model a .sgai file was made with: the same id AND the same weights. Every copy
 * of the id in every search folder is considered, so an older or retrained model of the same
 * name earlier in the path does not hide the right one. A card's sha256 only decides which copy
 * is hashed first; the file itself is always checked (a card can be stale).
 */
export function findModelForFile(id: string, weightsSha256Hex: string, extra: string[] = []): InstalledModel {
  const want = weightsSha256Hex.toLowerCase();
  const all = listAllModels([...extra, TEST_MODELS_DIR]).filter((m) => m.card.id === id);
  if (all.length === 0) {
    throw new SgaiError('MODEL_NOT_INSTALLED', `this file was made with model "${id}", which is not installed; install it (sgai import-model) or use the sgai version that made the file`);
  }
  const claims = (m: InstalledModel) => typeof m.card.sha256 === 'string' && m.card.sha256.toLowerCase() === want;
  const ordered = [...all.filter(claims), ...all.filter((m) => !claims(m))];
  const hit = ordered.find((m) => weightsSha256(m.weightsPath) === want);
  if (hit) return hit;
  const have = [...new Set(all.map((m) => weightsSha256(m.weightsPath).slice(0, 12) + '…'))].join(', ');
  throw new SgaiError(
    'MODEL_NOT_INSTALLED',
    `this file was made with model "${id}" (weights ${want.slice(0, 12)}…), but the installed "${id}" has different weights (${have}): install the matching weights (sgai import-model) to decode it`,
  );
}

const loaded = new Map<string, LoadedModel>();

export function loadModel(m: InstalledModel): LoadedModel {
  const hit = loaded.get(m.weightsPath);
  if (hit) return hit;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(m.weightsPath);
  } catch (e) {
    throw new SgaiError('IO', `cannot read model weights ${m.weightsPath}: ${(e as Error).message}`);
  }
  const weights = loadHyperprior(bytes, m.weightsPath);
  if (weights.N !== m.card.N || weights.M !== m.card.M) {
    throw new SgaiError('BAD_WEIGHTS', `model ${m.card.id}: card says N=${m.card.N}, M=${m.card.M} but the weights have N=${weights.N}, M=${weights.M}`);
  }
  const model = { ...m, weights };
  loaded.set(m.weightsPath, model);
  return model;
}

/** Load a model by file path (a .safetensors with its .json card beside it). */
export function loadModelFromPath(weightsPath: string): LoadedModel {
  const cardPath = weightsPath.replace(/\.safetensors$/, '.json');
  const card = readCard(cardPath);
  if (!card) throw new SgaiError('BAD_WEIGHTS', `model ${weightsPath} has no readable card ${cardPath}`);
  return loadModel({ card, weightsPath: resolve(weightsPath), dir: dirname(resolve(weightsPath)) });
}
