/**
 * Human text of `sgai info`: the header, every chunk with its checksum status and problem,
 * where the chunk walk stopped, and the verdict. Works for damaged files too: whatever the
 * inspection could not establish is simply left out.
 */
import { type DecodedSgai, type SgaiInspection } from '../core';

export interface InfoViewContext {
  /** Name shown on the first line. */
  file?: string;
  /** The parsed file (salvage parse is fine), for refinement, metadata and preview lines. */
  parsed?: DecodedSgai;
}

const VERDICT: Record<SgaiInspection['decodable'], string> = {
  yes: 'decodable',
  salvage: 'damaged: decodable with --salvage',
  no: 'not decodable',
};

export function formatInspection(info: SgaiInspection, ctx: InfoViewContext = {}): string[] {
  const name = ctx.file ?? 'file';
  if (info.signature !== 'ok' || !info.version?.supported) {
    return [`${name}: ${info.size} bytes`, `  verdict    ${VERDICT[info.decodable]}: ${info.summary}`];
  }
  const h = info.header;
  const lines = [
    `${name}: sgai format ${info.version.major}.${info.version.minor}, ${info.size} bytes${h ? `, ${((info.size * 8) / (h.width * h.height)).toFixed(4)} bpp` : ''}`,
  ];
  if (h) {
    lines.push(
      `  image      ${h.width}x${h.height}, source ${h.sourceBitDepth}-bit${h.hadAlpha ? ', had alpha (flattened on white)' : ''}, original EXIF orientation ${h.originalOrientation}`,
      `  model      ${h.modelId} (N=${h.channelsN}, M=${h.channelsM}), weights sha256 ${Buffer.from(h.weightsSha256).toString('hex')}`,
    );
    if (info.grid) lines.push(`  tiles      ${h.tileSize} px, ${info.grid.tilesX}x${info.grid.tilesY} = ${info.grid.tiles}`);
  } else {
    lines.push('  header     unreadable');
  }
  const f = ctx.parsed;
  if (f) {
    lines.push(
      `  refined    ${f.refine ? JSON.stringify(f.refine) : 'no'}`,
      `  metadata   ICC ${f.icc?.length ?? 0} B, EXIF ${f.exif?.length ?? 0} B, XMP ${f.xmp?.length ?? 0} B`,
      `  preview    ${f.preview ? `${f.preview.width}x${f.preview.height} ${f.preview.mime}, ${f.preview.data.length} B` : 'none'}`,
      `  source     ${f.source ? `${f.source.bytes} B, sha256 ${f.source.sha256}` : 'not recorded'}`,
    );
  }
  lines.push('  chunks:');
  const width = Math.max(4, ...info.chunks.map((c) => c.label.length));
  for (const c of info.chunks) {
    const tile = c.tile !== undefined ? `  tile ${c.tile}` : '';
    lines.push(
      `    ${c.label.padEnd(width)}  @${String(c.offset).padStart(9)}  ${String(c.length).padStart(9)} B  ${c.required ? 'required' : 'optional'}  crc ${c.crcOk ? 'ok ' : 'BAD'}${tile}${c.problem ? `  ${c.problem}` : ''}`,
    );
  }
  if (info.stop) lines.push(`    (stops at byte ${info.stop.offset} of ${info.size}: ${info.stop.reason})`);
  lines.push(`  verdict    ${VERDICT[info.decodable]}: ${info.summary}`);
  for (const s of info.decodable === 'yes' ? [] : info.skipped) {
    const tiles = s.tile === undefined ? '' : s.lastTile !== undefined ? ` tiles ${s.tile}-${s.lastTile}` : ` tile ${s.tile}`;
    lines.push(`    skips ${s.chunk}${tiles}: ${s.reason}`);
  }
  return lines;
}
