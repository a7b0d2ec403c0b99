/**
 * Files are backend-independent: a file encoded on one tfjs backend decodes on another to
 * exactly the latents the encoder chose (the z^ -> CDF index path is pinned to float64 JS),
 * so the entropy decoder never desynchronises. g_s itself is float convolution, summed in a
 * different order by each backend, so pixels may differ by one 8-bit level where a value sits
 * on a rounding boundary; this test bounds that.
 */
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { decode, encode, synthesiseLatents } from '../src/core/codec';
import { decodeLatents } from '../src/core/pipeline/latent-coding';
import { decodeSgai } from '../src/core/format';
import { readImage } from '../src/core/image/read';
import { latentGrid } from '../src/core/latent-grid';
import { loadModelFromPath } from '../src/core/model/registry';
import { TEST_MODEL_PATH, kodim } from './helpers';

const IMAGES = Array.from({ length: 24 }, (_, i) => i + 1);

describe('cpu <-> wasm', () => {
  it('all 24 Kodak images: cross-backend decode reproduces the chosen latents exactly', async () => {
    const model = loadModelFromPath(TEST_MODEL_PATH);
    const report: string[] = [];
    for (const i of IMAGES) {
      const { image } = await readImage(kodim(i));
      for (const [encB, decB] of [['cpu', 'wasm'], ['wasm', 'cpu']] as const) {
        await initBackend(encB);
        const r = await encode(image, { model, keepLatents: true, preview: false });
        const same = decode(r.bytes, { model }).image;
        await initBackend(decB);
        const file = decodeSgai(r.bytes);
        const g = latentGrid(image.width, image.height, file.header.tileSize);
        const all = Array.from({ length: g.tilesX * g.tilesY }, (_, t) => t);
        const yHat = decodeLatents(model.weights, file.zStream, file.yStreams, g, all);
        expect(Buffer.compare(Buffer.from(yHat.buffer), Buffer.from(r.yHat!.buffer))).toBe(0);
        const other = decode(r.bytes, { model }).image;
        // On the decoding backend, the decode is exactly g_s of the encoder's latents.
        const expected = synthesiseLatents(model, r.yHat!, image.width, image.height, file.header.tileSize);
        expect(Buffer.compare(Buffer.from(other.data as Uint8Array), Buffer.from(expected.data as Uint8Array))).toBe(0);
        let maxDiff = 0;
        let differing = 0;
        for (let k = 0; k < same.data.length; k++) {
          const d = Math.abs(same.data[k] - other.data[k]);
          if (d) differing++;
          maxDiff = Math.max(maxDiff, d);
        }
        expect(maxDiff).toBeLessThanOrEqual(1);
        expect(differing / same.data.length).toBeLessThan(1e-3);
        report.push(`kodim${i} ${encB}->${decB}: latents identical, ${differing} of ${same.data.length} values differ by 1 from a same-backend decode`);
      }
    }
    console.log(report.join('\n'));
  });
});
