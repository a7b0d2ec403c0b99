/**
 * Byte-level metadata handling for export: patch EXIF/XMP orientation and splice ICC, EXIF and
 * XMP into encoded JPEG and PNG files. Done by hand because sharp only writes EXIF from a
 * key/value object (losing maker notes, GPS and anything it does not model), while we want the
 * photo's original EXIF carried over byte for byte apart from the fields we must correct.
 */
import { crc32, deflateSync } from 'node:zlib';

// ---- EXIF (TIFF structure) ----------------------------------------------------------------

const TAG_ORIENTATION = 0x0112;
const TAG_EXIF_IFD = 0x8769;
const TAG_PIXEL_X = 0xa002;
const TAG_PIXEL_Y = 0xa003;

/** Strips a leading "Exif\0\0" if present, so both APP1 payloads and bare TIFF data are accepted. */
export function tiffFromExif(exif: Uint8Array): Uint8Array {
  if (exif.length >= 6 && exif[0] === 0x45 && exif[1] === 0x78 && exif[2] === 0x69 && exif[3] === 0x66 && exif[4] === 0 && exif[5] === 0) {
    return exif.subarray(6);
  }
  return exif;
}

/**
 * Returns a copy of raw EXIF (TIFF header onwards) with Orientation set to 1 and, where present,
 * PixelXDimension/PixelYDimension set to the exported size. Returns undefined when the data is not
 * parseable TIFF: we then drop it rather than risk a stale Orientation rotating upright pixels.
 */
export function patchExif(exif: Uint8Array, width: number, height: number): Uint8Array | undefined {
  const t = tiffFromExif(exif).slice();
  if (t.length < 8) return undefined;
  const le = t[0] === 0x49 && t[1] === 0x49;
  if (!le && !(t[0] === 0x4d && t[1] === 0x4d)) return undefined;
  const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  if (dv.getUint16(2, le) !== 42) return undefined;

  // Visits the entries of one IFD; false when the IFD runs past the end of the data.
  const walk = (ifd: number, fn: (entry: number, tag: number, type: number, count: number) => void): boolean => {
    if (ifd < 8 || ifd + 2 > t.length) return false;
    const n = dv.getUint16(ifd, le);
    if (ifd + 2 + n * 12 > t.length) return false;
    for (let i = 0; i < n; i++) {
      const e = ifd + 2 + i * 12;
      fn(e, dv.getUint16(e, le), dv.getUint16(e + 2, le), dv.getUint32(e + 4, le));
    }
    return true;
  };
  // Inline SHORT or LONG values with count 1 only; that is how every writer stores these tags.
  const setInt = (e: number, type: number, count: number, v: number): void => {
    if (count !== 1) return;
    if (type === 3 && v <= 0xffff) dv.setUint16(e + 8, v, le);
    else if (type === 4) dv.setUint32(e + 8, v, le);
  };

  let exifIfd = 0;
  const ok = walk(dv.getUint32(4, le), (e, tag, type, count) => {
    if (tag === TAG_ORIENTATION) setInt(e, type, count, 1);
    else if (tag === TAG_EXIF_IFD && type === 4 && count === 1) exifIfd = dv.getUint32(e + 8, le);
  });
  if (!ok) return undefined;
  if (exifIfd) {
    walk(exifIfd, (e, tag, type, count) => {
      if (tag === TAG_PIXEL_X) setInt(e, type, count, width);
      else if (tag === TAG_PIXEL_Y) setInt(e, type, count, height);
    });
  }
  return t;
}

/** XMP may repeat the orientation (tiff:Orientation); reset it to 1 like the EXIF tag. */
export function patchXmp(xmp: Uint8Array): Uint8Array {
  const text = new TextDecoder('utf-8').decode(xmp);
  const fixed = text
    .replace(/(tiff:Orientation\s*=\s*["'])\s*\d+\s*(["'])/g, '$11$2')
    .replace(/(<tiff:Orientation>)\s*\d+\s*(<\/tiff:Orientation>)/g, '$11$2');
  return fixed === text ? xmp : new TextEncoder().encode(fixed);
}

// ---- JPEG -----------------------------------------------------------------------------------

const EXIF_ID = new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0]); // "Exif\0\0"
const XMP_ID = new TextEncoder().encode('http://ns.adobe.com/xap/1.0/\0');
const ICC_ID = new TextEncoder().encode('ICC_PROFILE\0');
const MAX_SEGMENT = 65533; // payload bytes: the 16-bit length field also counts itself

function segment(marker: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(4 + len);
  out[0] = 0xff;
  out[1] = marker;
  out[2] = (len + 2) >> 8;
  out[3] = (len + 2) & 0xff;
  let o = 4;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function startsWith(b: Uint8Array, at: number, id: Uint8Array): boolean {
  if (at + id.length > b.length) return false;
  for (let i = 0; i < id.length; i++) if (b[at + i] !== id[i]) return false;
  return true;
}

export interface SpliceMetadata {
  icc?: Uint8Array;
  /** Raw TIFF bytes (already patched). */
  exif?: Uint8Array;
  xmp?: Uint8Array;
}

/** What did not fit and was left out (JPEG segments are limited to 64 KiB). */
export interface SpliceResult {
  data: Uint8Array;
  dropped: string[];
}

/**
 * Inserts APP1 Exif, APP1 XMP and APP2 ICC (split over as many segments as needed) after SOI and
 * any JFIF APP0, removing any of those the encoder wrote itself.
 */
export function spliceJpeg(jpeg: Uint8Array, md: SpliceMetadata): SpliceResult {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('spliceJpeg: not a JPEG');
  const dropped: string[] = [];
  const ours: Uint8Array[] = [];
  if (md.exif) {
    if (EXIF_ID.length + md.exif.length <= MAX_SEGMENT) ours.push(segment(0xe1, EXIF_ID, md.exif));
    else dropped.push('EXIF');
  }
  if (md.xmp) {
    // Larger packets need the Extended XMP scheme, which few readers support.
    if (XMP_ID.length + md.xmp.length <= MAX_SEGMENT) ours.push(segment(0xe1, XMP_ID, md.xmp));
    else dropped.push('XMP');
  }
  if (md.icc) {
    const chunk = MAX_SEGMENT - ICC_ID.length - 2;
    const count = Math.ceil(md.icc.length / chunk);
    if (count <= 255) {
      for (let i = 0; i < count; i++) {
        ours.push(segment(0xe2, ICC_ID, new Uint8Array([i + 1, count]), md.icc.subarray(i * chunk, (i + 1) * chunk)));
      }
    } else dropped.push('ICC');
  }

  const keep: Uint8Array[] = [jpeg.subarray(0, 2)];
  let o = 2;
  let inserted = false;
  // Walk the marker segments up to SOS; everything from SOS on is copied verbatim.
  while (o + 4 <= jpeg.length && jpeg[o] === 0xff) {
    const marker = jpeg[o + 1];
    if (marker === 0xda || marker === 0xd9) break;
    const len = (jpeg[o + 2] << 8) | jpeg[o + 3];
    const end = o + 2 + len;
    if (len < 2 || end > jpeg.length) break;
    const payload = o + 4;
    const isOurs =
      (marker === 0xe1 && (startsWith(jpeg, payload, EXIF_ID) || startsWith(jpeg, payload, XMP_ID))) ||
      (marker === 0xe2 && startsWith(jpeg, payload, ICC_ID));
    if (!inserted && marker !== 0xe0) {
      keep.push(...ours);
      inserted = true;
    }
    if (!isOurs) keep.push(jpeg.subarray(o, end));
    o = end;
  }
  if (!inserted) keep.push(...ours);
  keep.push(jpeg.subarray(o));
  return { data: concat(keep), dropped };
}

// ---- PNG ------------------------------------------------------------------------------------

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** PNG iCCP names are Latin-1, 1..79 chars, no leading/trailing/double spaces. */
function iccpName(desc: string | undefined): Uint8Array {
  const name = (desc ?? '')
    .replace(/[^\x20-\x7e\xa1-\xff]/g, '')
    .replace(/ {2,}/g, ' ')
    .trim()
    .slice(0, 79)
    .trim();
  const s = name.length > 0 ? name : 'ICC profile';
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/**
 * Inserts iCCP (compressed ICC), eXIf and an iTXt XMP packet right after IHDR, removing any
 * colour/metadata chunks the encoder wrote (sRGB, gAMA, cHRM and iCCP must not contradict ours).
 */
export function splicePng(png: Uint8Array, md: SpliceMetadata & { iccName?: string }): Uint8Array {
  if (png.length < 8 || PNG_SIG.some((v, i) => png[i] !== v)) throw new Error('splicePng: not a PNG');
  const ours: Uint8Array[] = [];
  if (md.icc) ours.push(chunk('iCCP', concat([iccpName(md.iccName), new Uint8Array([0, 0]), deflateSync(md.icc)])));
  if (md.exif) ours.push(chunk('eXIf', md.exif));
  if (md.xmp) {
    // keyword, NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL
    const head = new TextEncoder().encode('XML:com.adobe.xmp\0\0\0\0\0');
    ours.push(chunk('iTXt', concat([head, md.xmp])));
  }
  const drop = new Set(['iCCP', 'sRGB', 'gAMA', 'cHRM', 'eXIf']);
  const parts: Uint8Array[] = [png.subarray(0, 8)];
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let o = 8;
  while (o + 12 <= png.length) {
    const len = dv.getUint32(o);
    const type = String.fromCharCode(png[o + 4], png[o + 5], png[o + 6], png[o + 7]);
    const end = o + 12 + len;
    if (end > png.length) throw new Error('splicePng: truncated chunk');
    const isXmp = type === 'iTXt' && startsWith(png, o + 8, new TextEncoder().encode('XML:com.adobe.xmp\0'));
    if (!drop.has(type) && !isXmp) parts.push(png.subarray(o, end));
    if (type === 'IHDR') parts.push(...ours);
    o = end;
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
