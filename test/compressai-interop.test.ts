/**
 * CompressAI interop. A MeanScaleHyperprior trained by CompressAI itself and converted with
 * sgai_train.import_compressai (fixtures in test/fixtures/compressai, made by
 * `python3 -m sgai_train.import_compressai --make-fixture test/fixtures/compressai`):
 * - the TypeScript transforms reproduce CompressAI's forward() (y, z, x_hat);
 * - sgai's entropy coder, fed CompressAI's own latents, is as compact as CompressAI's compress():
 *   with CompressAI's 64-scale table within 0.5 % plus per-stream framing, and with sgai's
 *   256-scale table not larger;
 * - `sgai import-model` converts a real CompressAI checkpoint and refuses other architectures
 *   (needs python3 + torch + compressai at test time; skipped with the reason otherwise).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { defaultPython } from '../src/cli/import-model';
import { medians } from '../src/core/entropy/factorized';
import { buildGaussianTable, defaultScaleTable, scaleIndex } from '../src/core/entropy/gaussian';
import { ransDecode, ransEncode } from '../src/core/entropy/rans';
import { latentGrid } from '../src/core/latent-grid';
import { hyperSynthesis } from '../src/core/model/hyper-synthesis';
import { runLayers } from '../src/core/model/network';
import { loadModelFromPath, type LoadedModel } from '../src/core/model/registry';
import { parseSafeTensors, type SafeTensorsFile } from '../src/core/model/safetensors';
import type { HyperpriorWeights } from '../src/core/model/weights';
import { encodeLatents, roundHalfEven } from '../src/core/pipeline/latent-coding';
import { ROOT, runCli, tempDir } from './helpers';

const FX = join(ROOT, 'test', 'fixtures', 'compressai');
const MODEL_PATH = join(FX, 'compressai-interop-n32m48.safetensors');

interface StreamSizes {
  width: number;
  height: number;
  yBytes: number;
  zBytes: number;
}
interface ReferenceInfo {
  compressai: string;
  crop: StreamSizes & { source: string };
  full: StreamSizes & { source: string };
}

/** CompressAI's Rans64 flushes 8 bytes and writes 32-bit words; sgai flushes 4 and writes bytes. */
const FRAMING_SLACK_BYTES = 8;
const RATIO_TOLERANCE = 0.005;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, clamp = false): number {
  expect(a.length).toBe(b.length);
  const c = (v: number) => (clamp ? Math.min(1, Math.max(0, v)) : v);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(c(a[i]) - c(b[i])));
  return m;
}

function countDiffering(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

interface Hyper {
  zSym: Int32Array; // HWC
  scales: Float64Array; // HWC
  means: Float64Array;
}

/** sgai's decoder-side view of CompressAI's z: symbols, z^ and the float64 h_s means/scales. */
function hyperFromZ(w: HyperpriorWeights, z: Float32Array, zh: number, zw: number): Hyper {
  const { N, M } = w;
  const med = medians(w.factorized);
  const zSym = new Int32Array(z.length);
  const zHat = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) {
    zSym[i] = roundHalfEven(z[i] - med[i % N]);
    zHat[i] = zSym[i] + med[i % N];
  }
  const hs = hyperSynthesis(w.hS, zHat, zh, zw, N);
  const n = hs.height * hs.width;
  const scales = new Float64Array(n * M);
  const means = new Float64Array(n * M);
  for (let p = 0; p < n; p++)
    for (let c = 0; c < M; c++) {
      scales[p * M + c] = hs.data[p * 2 * M + c];
      means[p * M + c] = hs.data[p * 2 * M + M + c];
    }
  return { zSym, scales, means };
}

interface Coded {
  z: number;
  y256: number;
  y64: number;
}

/**
 * Codes CompressAI's latents with sgai's coder: the codec path (256-scale table) as is, and the
 * same symbols with CompressAI's 64-scale table for a like-for-like comparison. One tile, so
 * one y stream, as CompressAI has.
 */
function codeWithSgai(w: HyperpriorWeights, y: Float32Array, z: Float32Array, width: number, height: number): Coded {
  const g = latentGrid(width, height, Math.max(width, height, 64));
  expect(g.tilesX * g.tilesY).toBe(1);
  const enc = encodeLatents(w, y, z, g);
  const M = w.M;
  const h = hyperFromZ(w, z, g.zh, g.zw);
  const plane = g.yh * g.yw;
  const sym = new Int32Array(plane * M);
  const idx = new Int32Array(plane * M);
  const table = defaultScaleTable();
  // Channel-major, as both sgai and CompressAI order y symbols.
  for (let c = 0, k = 0; c < M; c++)
    for (let p = 0; p < plane; p++, k++) {
      sym[k] = roundHalfEven(y[p * M + c] - h.means[p * M + c]);
      idx[k] = scaleIndex(h.scales[p * M + c], table);
    }
  const cdfs = buildGaussianTable(table);
  const y64 = ransEncode(sym, idx, cdfs);
  expect(ransDecode(y64, idx, cdfs)).toEqual(sym);
  return { z: enc.zStream.length, y256: enc.yStreams.reduce((s, b) => s + b.length, 0), y64: y64.length };
}

const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(2)} %`;

describe('CompressAI interop (fixtures from CompressAI 1.2.8)', () => {
  let fx: SafeTensorsFile;
  let info: ReferenceInfo;
  let model: LoadedModel;
  const get = (n: string) => fx.tensors.get(n)!.data;
  const shape = (n: string) => fx.tensors.get(n)!.shape;

  beforeAll(async () => {
    await initBackend('wasm');
    fx = parseSafeTensors(readFileSync(join(FX, 'reference.safetensors')), 'reference.safetensors');
    info = JSON.parse(readFileSync(join(FX, 'reference.json'), 'utf8')) as ReferenceInfo;
    model = loadModelFromPath(MODEL_PATH);
  });

  it('loads the converted checkpoint with its card', () => {
    expect(model.weights.N).toBe(32);
    expect(model.weights.M).toBe(48);
    expect(model.card.architecture).toBe('mean-scale-hyperprior');
    expect(String(model.card.trainingData)).toMatch(/^imported from CompressAI checkpoint /);
    expect(model.card.source).toMatch(/^[0-9a-f]{64}$/);
    expect(model.card.sha256).toBe(model.weights.sha256);
  });

  it("reproduces CompressAI's forward(): y, z, x_hat", () => {
    const w = model.weights;
    const [H, W] = shape('x');
    const y = runLayers({ data: get('x'), height: H, width: W, channels: 3 }, w.gA);
    const dy = maxAbsDiff(y.data, get('y'));
    const z = runLayers(y, w.hA);
    const dz = maxAbsDiff(z.data, get('z'));
    // g_s on CompressAI's own y^, so a rounding flip upstream cannot hide a synthesis mismatch.
    const [yh, yw] = shape('y_hat');
    const xHat = runLayers({ data: get('y_hat'), height: yh, width: yw, channels: w.M }, w.gS);
    const dx = maxAbsDiff(xHat.data, get('x_hat'), true);
    const dxRaw = maxAbsDiff(xHat.data, get('x_hat'));

    // The decoder side: sgai derives CompressAI's symbols and coder-table indexes from its z.
    const h = hyperFromZ(w, get('z'), shape('z')[0], shape('z')[1]);
    const zSymDiff = countDiffering(h.zSym, get('z_sym'));
    const refY = get('y');
    const ySym = new Float32Array(refY.length);
    const idx64 = new Float32Array(refY.length);
    const table = defaultScaleTable();
    for (let i = 0; i < refY.length; i++) {
      ySym[i] = roundHalfEven(refY[i] - h.means[i]);
      idx64[i] = scaleIndex(h.scales[i], table);
    }
    const ySymDiff = countDiffering(ySym, get('y_sym'));
    const idxDiff = countDiffering(idx64, get('y_idx'));
    console.log(`CompressAI ${info.compressai} vs sgai TS (wasm), max |diff|: y ${dy.toExponential(2)}, z ${dz.toExponential(2)}, ` +
      `x_hat ${dx.toExponential(2)} in [0,1] (${dxRaw.toExponential(2)} unclamped); ` +
      `differing symbols z ${zSymDiff}/${h.zSym.length}, y ${ySymDiff}/${ySym.length}, 64-table indexes ${idxDiff}/${idx64.length}`);
    expect(dy).toBeLessThan(1e-4);
    expect(dz).toBeLessThan(1e-4);
    expect(dx).toBeLessThanOrEqual(1e-4);
    expect(zSymDiff).toBe(0);
    // float64 (sgai) vs float32 (CompressAI) h_s may only disagree at exact rounding boundaries.
    expect(ySymDiff).toBeLessThanOrEqual(Math.ceil(ySym.length * 1e-3));
    expect(idxDiff).toBeLessThanOrEqual(Math.ceil(idx64.length * 1e-3));
  });

  for (const which of ['crop', 'full'] as const) {
    it(`codes CompressAI's latents (${which}) as compactly as compress()`, () => {
      const ref = info[which];
      const y = get(which === 'crop' ? 'y' : 'full_y');
      const z = get(which === 'crop' ? 'z' : 'full_z');
      const s = codeWithSgai(model.weights, y, z, ref.width, ref.height);
      const cai = ref.yBytes + ref.zBytes;
      const total64 = s.y64 + s.z;
      const total256 = s.y256 + s.z;
      console.log(`${which} ${ref.width}x${ref.height} (${ref.source}) streams, bytes: ` +
        `CompressAI compress() y ${ref.yBytes} + z ${ref.zBytes} = ${cai}; ` +
        `sgai 64-scale y ${s.y64} + z ${s.z} = ${total64} (${pct(total64, cai)}, y ${pct(s.y64, ref.yBytes)}); ` +
        `sgai 256-scale y ${s.y256} + z ${s.z} = ${total256} (${pct(total256, cai)}, y ${pct(s.y256, ref.yBytes)})`);
      expect(Math.abs(s.y64 - ref.yBytes)).toBeLessThanOrEqual(RATIO_TOLERANCE * ref.yBytes + FRAMING_SLACK_BYTES);
      expect(Math.abs(s.z - ref.zBytes)).toBeLessThanOrEqual(RATIO_TOLERANCE * ref.zBytes + FRAMING_SLACK_BYTES);
      expect(Math.abs(total64 - cai)).toBeLessThanOrEqual(RATIO_TOLERANCE * cai + 2 * FRAMING_SLACK_BYTES);
      expect(total256).toBeLessThanOrEqual(cai);
      expect(s.y256).toBeLessThanOrEqual(s.y64);
    });
  }
});

/** Why the import-model CLI test cannot run here, or null when it can. */
function pythonUnavailable(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import torch, compressai'], { encoding: 'utf8' });
  if (r.error) return `${python} not runnable (${r.error.message})`;
  if (r.status !== 0) return `${python} lacks torch or compressai (${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 200)}); run training/setup_compressai.sh`;
  return null;
}

// Checkpoints made by the real compressai package, as a user would have them.
const MAKE_CHECKPOINTS = `
import sys, torch
from compressai.models import MeanScaleHyperprior, ScaleHyperprior
torch.manual_seed(0)
m = MeanScaleHyperprior(32, 48); m.update(force=True)
torch.save({"epoch": 7, "loss": 1.25, "state_dict": m.state_dict()}, sys.argv[1] + "/mbt2018-mean-3-test.pth.tar")
s = ScaleHyperprior(32, 48); s.update(force=True)
torch.save(s.state_dict(), sys.argv[1] + "/bmshj2018-hyperprior.pth")
`;

describe('sgai import-model (needs python3 + torch + compressai)', () => {
  const python = defaultPython();
  const reason = pythonUnavailable(python);
  let dir = '';
  beforeAll(() => {
    if (reason) return;
    dir = tempDir('sgai-import-');
    const r = spawnSync(python, ['-c', MAKE_CHECKPOINTS, dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`making CompressAI checkpoints failed: ${r.stderr}`);
  });

  it('imports a CompressAI mbt2018-mean checkpoint and refuses bmshj2018-hyperprior', async (ctx) => {
    if (reason) {
      console.log(`skipped: ${reason}`);
      ctx.skip();
      return;
    }
    const out = join(dir, 'models');
    const ok = await runCli(['import-model', join(dir, 'mbt2018-mean-3-test.pth.tar'), '--out-dir', out, '--id', 'cai-test'], { env: { SGAI_PYTHON: python } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe('cai-test');
    expect(ok.stderr).toMatch(/N=32, M=48, lambda=0\.0067 \(CompressAI quality 3\)/);
    expect(ok.stderr).toMatch(/not a model folder sgai searches/);
    const m = loadModelFromPath(join(out, 'cai-test.safetensors'));
    expect([m.weights.N, m.weights.M]).toEqual([32, 48]);
    expect(m.card.trainingData).toBe('imported from CompressAI checkpoint mbt2018-mean-3-test.pth.tar');

    // The same id again without --force is refused (usage error), and nothing is changed.
    const again = await runCli(['import-model', join(dir, 'mbt2018-mean-3-test.pth.tar'), '--out-dir', out, '--id', 'cai-test'], { env: { SGAI_PYTHON: python } });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists; pass --force/);

    const bad = await runCli(['import-model', join(dir, 'bmshj2018-hyperprior.pth'), '--out-dir', out, '--lambda', '0.0067'], { env: { SGAI_PYTHON: python } });
    // BAD_WEIGHTS: the CLI's "model missing or unusable" exit code (the converter itself exits 3).
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/bmshj2018-hyperprior .*only scales.*only mbt2018-mean/);
    expect(bad.stderr).not.toMatch(/Traceback/);
    expect(existsSync(join(out, 'cai-test.json'))).toBe(true);
  });
});
