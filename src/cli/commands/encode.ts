/**
 * `sgai encode <image>...`: every output is checked before the first encode starts (exists,
 * is an input, folder writable), each photo is encoded with the same settings, and each file
 * goes through the safe writer, which verifies the .sgai before it takes the final name.
 */
import sharp from 'sharp';
import { defaultModel, encodeFile, type EncodeResult, encodeToTarget, estimateRefineSeconds, listModels, loadModel, type OutputTarget, preflightOutput, readImage, type ReadOptions, resolveModel, SgaiError, TEST_MODELS_DIR, verifySgai, writeFileSafely } from '../../core';
import { maxPixelsOption, metadataOption, numberOption, refineOptions, targetOption, type Values } from '../options';
import { checkInput } from '../inputs';
import { planOutputs } from '../outputs';
import { forEachInput, type CommandContext } from './context';

const num = (v: number, d = 3) => v.toFixed(d);
export const formatDuration = (s: number) => (s < 90 ? `${s.toFixed(0)} s` : s < 5400 ? `${(s / 60).toFixed(0)} min` : `${(s / 3600).toFixed(1)} h`);

export async function encodeCommand(inputs: string[], values: Values, ctx: CommandContext): Promise<number> {
  inputs.forEach(checkInput);
  const outs = planOutputs(inputs, values.output as string | undefined, {
    defaultExt: '.sgai', allowedExts: ['.sgai'], what: 'encode writes .sgai files',
  });
  const refine = refineOptions(values);
  const target = targetOption(values);
  const tileSize = numberOption(values, 'tile', { min: 64, max: 8192, integer: true });
  if (tileSize !== undefined && tileSize % 64 !== 0) throw new SgaiError('INVALID_ARGUMENT', `--tile must be a multiple of 64 (got ${tileSize})`);
  const read: ReadOptions = {
    maxPixels: maxPixelsOption(values),
    alpha: values.flatten ? 'flatten' : 'refuse',
    frames: values['first-frame'] ? 'first' : 'refuse',
    metadata: metadataOption(values),
  };
  const force = values.force === true;
  // All outputs are checked before hours of encoding, not after.
  const targets: OutputTarget[] = [];
  for (const out of outs) targets.push(await preflightOutput(out, { force, inputs }));

  await ctx.needBackend();
  const model = resolveModel({ model: values.model as string | undefined });
  const isTest = values.model === undefined && defaultModel().isTestModel;
  ctx.err(`model: ${model.card.id} (N=${model.card.N}, M=${model.card.M}, lambda=${model.card.lambda})${isTest ? ' - UNTRAINED TEST MODEL: no trained weights are installed' : ''}`);

  const settings = { values, refine, target, tileSize, read, model, ctx };
  return forEachInput(inputs, ctx, (input, k) => encodeOne(input, targets[k], settings));
}

interface EncodeSettings {
  values: Values;
  refine: ReturnType<typeof refineOptions>;
  target: ReturnType<typeof targetOption>;
  tileSize?: number;
  read: ReadOptions;
  model: ReturnType<typeof resolveModel>;
  ctx: CommandContext;
}

async function encodeOne(input: string, out: OutputTarget, s: EncodeSettings): Promise<void> {
  const { values, refine, target, model, ctx } = s;
  if (refine && !values.quiet) {
    const m = await sharp(input).metadata().catch(() => ({ width: 0, height: 0 }));
    const iters = refine.iterations ?? 500;
    const est = await estimateRefineSeconds(model.weights, m.width ?? 0, m.height ?? 0, iters);
    ctx.err(`refine: ${refine.method}, ${iters} iterations; estimated ${formatDuration(est)} on this machine${target ? ' per probe' : ''}${refine.timeBudgetS ? ` (time budget ${formatDuration(refine.timeBudgetS)})` : ''}`);
  }
  const t0 = performance.now();
  // --exact: analysis on the wasm reference, so an unrefined encode gives the same latents on every machine.
  const common = { tileSize: s.tileSize, preview: !values['no-preview'], onProgress: ctx.progress.update, signal: ctx.signal, refine, exact: values.exact === true };
  let r: EncodeResult;
  if (target) {
    const { image, meta } = await readImage(input, s.read);
    // The models of the chosen model's width (compact or standard): one rate point each.
    const family = values.model
      ? [model]
      : listModels().filter((m) => m.dir !== TEST_MODELS_DIR && m.card.N === model.card.N && m.card.M === model.card.M).map(loadModel);
    const t = await encodeToTarget(image, target, family.length ? family : [model], { ...common, metadata: meta });
    ctx.progress.finish();
    for (const p of t.probes) {
      ctx.err(`  probe ${p.modelId}${p.lambda ? ` lambda ${p.lambda.toPrecision(3)}` : ' unrefined'}: ${num(p.bpp, 4)} bpp, ${num(p.psnr, 2)} dB${p.msssim !== null ? `, MS-SSIM ${num(p.msssim, 4)}` : ''}${p.meets ? '  (meets target)' : ''}`);
    }
    ctx.out(`target ${target.kind} ${target.value}: ${t.met ? 'reached' : 'NOT reached (closest result kept)'}: ${t.reached.bytes} bytes, ${num(t.reached.bpp, 4)} bpp, PSNR ${num(t.reached.psnr, 2)} dB${t.reached.msssim !== null ? `, MS-SSIM ${num(t.reached.msssim, 4)}` : ''}, model ${t.result.model.card.id}`);
    r = t.result;
  } else {
    r = await encodeFile(input, { ...common, model, read: s.read });
  }
  ctx.progress.finish();
  const meta = (r as { metadata?: { hadAlpha?: boolean; bitDepth?: number } }).metadata;
  if (meta?.hadAlpha && values.flatten) ctx.err(`note: ${input}: transparency flattened on white (--flatten)`);
  await writeFileSafely(out, r.bytes, { signal: ctx.signal, verify: verifySgai });
  const st = r.stats;
  ctx.out(`${out.path}: ${st.width}x${st.height}, ${st.bytes} bytes, ${num(st.bpp, 4)} bpp (streams ${st.streamBytes} B, header+metadata+preview ${st.overheadBytes} B), ${num((performance.now() - t0) / 1000, 1)} s`);
  if (r.refinement) {
    const f = r.refinement;
    ctx.out(`refined: ${f.method}, lambda ${f.lambda}, ${f.iterations} iterations in ${num(f.seconds, 1)} s; estimated R-D loss ${num(f.initial.loss, 4)} -> ${num(f.best.loss, 4)} (bpp ${num(f.initial.bpp, 4)} -> ${num(f.best.bpp, 4)}, PSNR ${num(f.initial.psnr, 2)} -> ${num(f.best.psnr, 2)} dB)`);
  }
}

