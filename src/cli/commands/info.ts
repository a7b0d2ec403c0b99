/**
 * `sgai info <file.sgai> [--json]`: every chunk with its checksum status, also (especially) for
 * damaged files, and what can still be decoded. Exit 0 for an intact file, 3 for a damaged one
 * (after the full listing), so scripts can check a library with it.
 */
import { decodeSgai, inspectSgai, sizeBreakdown } from '../../core';
import { formatInspection } from '../info-view';
import { readInput } from '../inputs';
import type { CommandContext } from './context';

export function infoCommand(input: string, json: boolean, ctx: CommandContext): number {
  const bytes = readInput(input);
  const info = inspectSgai(bytes);
  const intact = info.decodable === 'yes' && info.skipped.length === 0 && !info.stop;
  // The full parse (metadata sizes, refinement record, size breakdown) only where it succeeds.
  let parsed: ReturnType<typeof decodeSgai> | undefined;
  try {
    parsed = info.decodable === 'no' ? undefined : decodeSgai(bytes, { salvage: true });
  } catch {
    parsed = undefined;
  }
  if (json) {
    const h = info.header;
    ctx.out(JSON.stringify({
      file: input,
      bytes: bytes.length,
      intact,
      ...info,
      version: info.version ? `${info.version.major}.${info.version.minor}` : null,
      header: h ? { ...h, weightsSha256: Buffer.from(h.weightsSha256).toString('hex') } : null,
      bpp: h ? (bytes.length * 8) / (h.width * h.height) : null,
      refine: parsed?.refine ?? null,
      metadata: parsed ? { icc: parsed.icc?.length ?? 0, exif: parsed.exif?.length ?? 0, xmp: parsed.xmp?.length ?? 0 } : null,
      preview: parsed?.preview ? { width: parsed.preview.width, height: parsed.preview.height, mime: parsed.preview.mime, bytes: parsed.preview.data.length } : null,
      source: parsed?.source ?? null,
      sizeBreakdown: intact ? sizeBreakdown(bytes) : null,
    }, null, 2));
  } else {
    for (const l of formatInspection(info, { file: input, parsed })) ctx.out(l);
  }
  return intact ? 0 : 3;
}
