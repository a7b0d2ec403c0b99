/**
 * A .sgai file names its model by id AND weights hash. Decoding must find the copy whose weights
 * match wherever it sits in the search path, and say precisely what is missing when none does;
 * an unknown --model on encode gets encode wording. Real model files, real encode/decode.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { decode, encode, resolveModel } from '../src/core/codec';
import { SgaiError } from '../src/core/errors';
import type { RasterImage } from '../src/core/image/raster';
import { findModel, findModelForFile, listAllModels, listModels, loadModelFromPath, weightsSha256 } from '../src/core/model/registry';
import { TEST_MODEL_PATH, tempDir } from './helpers';
import { mulberry32 } from './seeded-random';

// A private id, so the test fixture folder (always searched) holds no copy of it.
const ID = 'sgai-lookup-test';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let root: string;
let realDir: string; // the right weights
let wrongDir: string; // same id, one weight byte different, card copied unchanged (stale sha256)
let realSha: string;
let wrongSha: string;
let sgaiBytes: Uint8Array;
const savedEnv = process.env.SGAI_MODELS_DIR;

/** Installs the test model under ID in dir, optionally with one weight byte altered. */
function install(dir: string, alter: boolean): string {
  mkdirSync(dir, { recursive: true });
  const bytes = new Uint8Array(readFileSync(TEST_MODEL_PATH));
  if (alter) {
    // safetensors: u64 LE header length, JSON header, then the tensors. Flipping the lowest
    // mantissa bit of the first float keeps the file valid and the value finite.
    const dataStart = 8 + Number(Buffer.from(bytes).readBigUInt64LE(0));
    bytes[dataStart] ^= 1;
  }
  writeFileSync(join(dir, `${ID}.safetensors`), bytes);
  const card = JSON.parse(readFileSync(TEST_MODEL_PATH.replace(/\.safetensors$/, '.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, `${ID}.json`), JSON.stringify({ ...card, id: ID, file: `${ID}.safetensors` }));
  return sha(bytes);
}

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<SgaiError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SgaiError);
  return err as SgaiError;
}

beforeAll(async () => {
  delete process.env.SGAI_MODELS_DIR;
  await initBackend('wasm');
  root = tempDir('sgai-lookup-');
  realDir = join(root, 'real');
  wrongDir = join(root, 'wrong');
  realSha = install(realDir, false);
  wrongSha = install(wrongDir, true);
  expect(realSha).not.toBe(wrongSha);
  // The copied card still claims the real hash: a stale card must not fool the lookup.
  expect(JSON.parse(readFileSync(join(wrongDir, `${ID}.json`), 'utf8')).sha256).toBe(realSha);

  const r = mulberry32(7);
  const image: RasterImage = { width: 64, height: 48, bitDepth: 8, data: new Uint8Array(64 * 48 * 3).map(() => Math.floor(r() * 256)) };
  const enc = await encode(image, { model: loadModelFromPath(join(realDir, `${ID}.safetensors`)) });
  sgaiBytes = enc.bytes;
}, 120_000);

afterAll(() => {
  if (savedEnv === undefined) delete process.env.SGAI_MODELS_DIR;
  else process.env.SGAI_MODELS_DIR = savedEnv;
  rmSync(root, { recursive: true, force: true });
});

describe('decode finds the model by id and weights hash', () => {
  it('a same-id model with other weights earlier in the extra dirs does not block decoding', async () => {
    expect(listModels([wrongDir, realDir]).find((m) => m.card.id === ID)?.dir).toBe(wrongDir); // the shadowing copy
    expect(listAllModels([wrongDir, realDir]).filter((m) => m.card.id === ID).map((m) => m.dir)).toEqual([wrongDir, realDir]);
    const dec = await decode(sgaiBytes, { modelDirs: [wrongDir, realDir] });
    expect(dec.model.dir).toBe(realDir);
    expect(dec.model.weights.sha256).toBe(realSha);
    expect([dec.image.width, dec.image.height]).toEqual([64, 48]);
  });

  it('also when the other copy comes first through SGAI_MODELS_DIR', async () => {
    process.env.SGAI_MODELS_DIR = wrongDir;
    try {
      const dec = await decode(sgaiBytes, { modelDirs: [realDir] });
      expect(dec.model.dir).toBe(realDir);
    } finally {
      delete process.env.SGAI_MODELS_DIR;
    }
  });

  it('only the wrong weights installed → MODEL_NOT_INSTALLED naming both hashes', async () => {
    const e = await rejection(decode(sgaiBytes, { modelDirs: [wrongDir] }));
    expect(e.code).toBe('MODEL_NOT_INSTALLED');
    expect(e.message).toContain(`made with model "${ID}" (weights ${realSha.slice(0, 12)}…)`);
    expect(e.message).toContain(`has different weights (${wrongSha.slice(0, 12)}…)`);
    expect(e.message).toMatch(/install the matching weights/);
    expect(() => findModelForFile(ID, realSha, [wrongDir])).toThrow(/different weights/);
  });

  it('no model with that id at all → the not-installed wording', async () => {
    const e = await rejection(decode(sgaiBytes, { modelDirs: [] }));
    expect(e.code).toBe('MODEL_NOT_INSTALLED');
    expect(e.message).toMatch(new RegExp(`made with model "${ID}", which is not installed`));
  });

  it('findModelForFile returns the matching copy, case-insensitive hash', () => {
    expect(findModelForFile(ID, realSha.toUpperCase(), [wrongDir, realDir]).dir).toBe(realDir);
    expect(findModelForFile(ID, wrongSha, [realDir, wrongDir]).dir).toBe(wrongDir);
  });
});

describe('weightsSha256', () => {
  it('hashes the file, and hashes again when it changes (size or mtime)', () => {
    const dir = join(root, 'cache');
    mkdirSync(dir);
    const f = join(dir, 'w.safetensors');
    copyFileSync(join(realDir, `${ID}.safetensors`), f);
    expect(weightsSha256(f)).toBe(realSha);
    // Same size, different content and mtime: must not come from the cache.
    copyFileSync(join(wrongDir, `${ID}.safetensors`), f);
    const t = new Date(Date.now() + 5000);
    utimesSync(f, t, t);
    expect(weightsSha256(f)).toBe(wrongSha);
  });

  it('a missing file is an IO error', () => {
    expect(() => weightsSha256(join(root, 'nope.safetensors'))).toThrow(SgaiError);
  });
});

describe('unknown --model on encode', () => {
  it('says the model is unknown and how to list the installed ones, not "this file was made with"', async () => {
    const e = await rejection(() => resolveModel({ model: 'no-such-model' }));
    expect(e.code).toBe('MODEL_NOT_INSTALLED');
    expect(e.message).toBe('unknown model "no-such-model"; run `sgai models` to list the installed ones');
    const image: RasterImage = { width: 8, height: 8, bitDepth: 8, data: new Uint8Array(8 * 8 * 3) };
    const viaEncode = await rejection(encode(image, { model: 'no-such-model' }));
    expect(viaEncode.message).toMatch(/^unknown model "no-such-model"/);
    expect(viaEncode.message).not.toMatch(/made with/);
    expect(() => findModel('no-such-model')).toThrow(/sgai models/);
  });

  it('a model that is installed is found by id as before', () => {
    expect(findModel(ID, [realDir]).dir).toBe(realDir);
  });
});
