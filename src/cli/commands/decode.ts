/**
 * `sgai decode <file.sgai>...` to PNG or JPEG. Options that cannot apply to the chosen output
 * format are refused; a 16-bit source comes back as a 16-bit PNG unless told otherwise.
 */
import { extname } from 'node:path';
import { decodeParsed, decodeSgai, DEFAULT_MAX_PIXELS, encodeImage, isSgaiError, type OutputTarget, preflightOutput, SgaiError, verifyImage, writeFileSafely } from '../../core';
import { maxPixelsOption, numberOption, parseRegion, usage, type Values } from '../options';
import { checkInput, readInput } from '../inputs';
import { planOutputs } from '../outputs';
import { forEachInput, type CommandContext } from './context';

type Format = 'png' | 'jpeg';
const formatOf = (path: string): Format => (extname(path).toLowerCase() === '.png' ? 'png' : 'jpeg');

export async function decodeCommand(inputs: string[], values: Values, ctx: CommandContext): Promise<number> {
  inputs.forEach(checkInput);
  const outs = planOutputs(inputs, values.output as string | undefined, {
    defaultExt: '.png', allowedExts: ['.png', '.jpg', '.jpeg'], what: 'decode writes PNG or JPEG files',
  });
  const formats = outs.map(formatOf);
  const quality = numberOption(values, 'quality', { min: 1, max: 100, integer: true });
  if (quality !== undefined && formats.includes('png')) usage('--quality applies to JPEG output only (PNG is lossless); name the output *.jpg');
  const bitDepthOpt = numberOption(values, 'bit-depth', { min: 8, max: 16, integer: true });
  if (bitDepthOpt !== undefined && bitDepthOpt !== 8 && bitDepthOpt !== 16) usage('--bit-depth must be 8 or 16');
  if (bitDepthOpt === 16 && formats.includes('jpeg')) usage('JPEG is 8-bit; --bit-depth 16 needs a .png output');
  // --exact (the default) runs g_s on the wasm reference; --fast on the active backend (ort).
  if (values.exact && values.fast) usage('--exact and --fast exclude each other (--exact, the default, gives the same pixels on every machine)');
  const region = parseRegion(values.region);
  const maxPixels = maxPixelsOption(values);
  const force = values.force === true;
  const targets: OutputTarget[] = [];
  for (const out of outs) targets.push(await preflightOutput(out, { force, inputs }));
  await ctx.needBackend();

  const settings = { values, quality, bitDepthOpt: bitDepthOpt as 8 | 16 | undefined, region, maxPixels, ctx };
  return forEachInput(inputs, ctx, (input, k) => decodeOne(input, targets[k], formats[k], settings));
}

interface DecodeSettings {
  values: Values;
  quality?: number;
  bitDepthOpt?: 8 | 16;
  region?: ReturnType<typeof parseRegion>;
  maxPixels?: number;
  ctx: CommandContext;
}

async function decodeOne(input: string, out: OutputTarget, format: Format, s: DecodeSettings): Promise<void> {
  const { ctx, values } = s;
  const bytes = readInput(input);
  const salvage = values.salvage === true;
  // The pixel limit is checked by the parser, before anything of the image's size is allocated.
  const file = decodeSgai(bytes, { salvage, maxPixels: s.maxPixels ?? DEFAULT_MAX_PIXELS });
  const source16 = file.header.sourceBitDepth > 8;
  // A 16-bit original comes back as 16-bit PNG by default; JPEG cannot carry it, so say so.
  const bitDepth: 8 | 16 = format === 'jpeg' ? 8 : s.bitDepthOpt ?? (source16 ? 16 : 8);
  if (source16 && format === 'jpeg') ctx.err(`note: ${input} came from a ${file.header.sourceBitDepth}-bit photo; JPEG keeps 8 bits (write a .png for 16)`);
  else if (source16 && s.bitDepthOpt === undefined) ctx.err(`note: ${input} came from a ${file.header.sourceBitDepth}-bit photo: writing a 16-bit PNG (--bit-depth 8 for 8-bit)`);
  const t0 = performance.now();
  const r = await decodeParsed(file, {
    region: s.region, bitDepth, onProgress: ctx.progress.update, signal: ctx.signal, exact: !values.fast,
    salvage, maxPixels: s.maxPixels,
  });
  ctx.progress.finish();
  const h = file.header;
  const tiles = Math.ceil(h.width / h.tileSize) * Math.ceil(h.height / h.tileSize);
  for (const k of r.skipped) {
    // Tiles are counted from 1 here, as in `sgai info`.
    const which = k.tile === undefined ? '' : k.lastTile !== undefined && k.lastTile !== k.tile
      ? ` (tiles ${k.tile + 1}-${k.lastTile + 1} of ${tiles}, filled from the prediction)` : ` (tile ${k.tile + 1} of ${tiles}, filled from the prediction)`;
    ctx.err(`skipped: ${k.chunk}${which}: ${k.reason}`);
  }
  let data: Uint8Array;
  try {
    // From the parsed file, which leaves out any metadata chunk that salvage skipped.
    data = await encodeImage(r.image, { format, bitDepth, quality: s.quality, icc: r.file.icc, exif: r.file.exif, xmp: r.file.xmp });
  } catch (e) {
    if (isSgaiError(e)) throw e;
    throw new SgaiError('IO', `cannot encode ${out.path}: ${(e as Error).message}`);
  }
  await writeFileSafely(out, data, {
    signal: ctx.signal,
    verify: (written) => verifyImage(written, { format, width: r.image.width, height: r.image.height }),
  });
  const how = r.exact ? '' : values.fast
    ? `, fast (synthesis on ${r.synthesis === 'ort' ? 'ONNX Runtime' : 'the active tfjs backend'})`
    : ', NOT exact (the wasm reference backend is unavailable)';
  ctx.out(`${out.path}: ${r.image.width}x${r.image.height}${s.region ? ` (region of ${h.width}x${h.height})` : ''}, ${bitDepth}-bit ${format.toUpperCase()}${how}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
