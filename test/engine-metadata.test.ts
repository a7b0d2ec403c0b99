/**
 * Metadata through a batch, as a photographer checks it afterwards: capture date, camera, lens,
 * GPS and the colour profile survive source → .sgai (sgai batch) → PNG and JPEG (sgai decode),
 * and the {date} naming token uses the EXIF capture date, not the file's time.
 */
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import exifr from 'exifr';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_MODEL_ID, runCli, tempDir } from './helpers';
import { expectOriginalsUnchanged, snapshotTree } from './helpers-originals';

describe('sgai batch keeps capture metadata', () => {
  let dir: string;
  let src: string;
  let out: string;
  beforeAll(async () => {
    dir = tempDir('sgai-meta-');
    src = join(dir, 'card', 'DCIM');
    out = join(dir, 'out');
    mkdirSync(src, { recursive: true });
    const w = 192;
    const h = 128;
    const px = Buffer.alloc(w * h * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * 37 + (i >> 7) * 11) % 256;
    await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .withIccProfile('p3')
      .withExif({
        IFD0: { Make: 'SgaiCam', Model: 'Field 7' },
        IFD2: { DateTimeOriginal: '2024:06:21 18:42:07', LensModel: 'Sgai 35mm F1.8' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '52/1 31/1 1200/100', GPSLongitudeRef: 'E', GPSLongitude: '13/1 24/1 3600/100' },
      })
      .jpeg({ quality: 95 })
      .toFile(join(src, 'IMG_0001.jpg'));
  });

  it('date, camera, lens, GPS and ICC survive; {date} comes from EXIF', async () => {
    const photo = join(src, 'IMG_0001.jpg');
    const before = snapshotTree(join(dir, 'card'));
    const b = await runCli(['batch', join(dir, 'card'), '--out', out, '--model', TEST_MODEL_ID, '--template', '{date}/{name}', '--quiet']);
    expect(b.code, b.stderr).toBe(0);
    const sgai = join(out, '2024-06-21', 'IMG_0001.sgai');
    expect(statSync(sgai).size).toBeGreaterThan(100);
    expectOriginalsUnchanged(join(dir, 'card'), before);

    const srcTags = await exifr.parse(photo, { gps: true });
    const srcIcc = (await sharp(photo).metadata()).icc!;
    for (const ext of ['jpg', 'png']) {
      const exported = join(dir, `export.${ext}`);
      const d = await runCli(['decode', sgai, '-o', exported, '--quiet']);
      expect(d.code, d.stderr).toBe(0);
      const tags = await exifr.parse(exported, { gps: true });
      expect(tags.Make).toBe('SgaiCam');
      expect(tags.Model).toBe('Field 7');
      expect(tags.LensModel).toBe('Sgai 35mm F1.8');
      expect(new Date(tags.DateTimeOriginal).getTime()).toBe(new Date(srcTags.DateTimeOriginal).getTime());
      expect(tags.latitude).toBeCloseTo(srcTags.latitude, 6);
      expect(tags.longitude).toBeCloseTo(srcTags.longitude, 6);
      expect(srcTags.latitude).toBeCloseTo(52 + 31 / 60 + 12 / 3600, 4);
      expect(Buffer.compare((await sharp(exported).metadata()).icc!, srcIcc)).toBe(0);
    }
    expect(readdirSync(out).sort()).toEqual(['.sgai-batch', '2024-06-21']);
    expect(readFileSync(join(out, '.sgai-batch', 'manifest.jsonl'), 'utf8')).toMatch(/"state":"done"/);
  });
});
