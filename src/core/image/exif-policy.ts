/**
 * EXIF under a stricter metadata policy: the TIFF structure (IFD0 → Exif IFD → Interop IFD, GPS
 * IFD, IFD1 with its thumbnail) is parsed, filtered and written out anew: fresh IFDs, every
 * offset recomputed, values over 4 bytes laid out again on word boundaries. Nothing is patched in
 * place, so the bytes of a removed tag (GPS coordinates, a serial number) cannot survive as
 * unreferenced leftovers. Anything not understood makes the whole EXIF go (MalformedExif): under
 * these policies losing EXIF is better than leaking what the photographer asked to remove.
 * See docs/image-handling.md, "Metadata policy".
 */

export type StrictPolicy = 'no-location' | 'copyright';

const TAG = {
  ORIENTATION: 0x0112,
  ARTIST: 0x013b,
  COPYRIGHT: 0x8298,
  EXIF_IFD: 0x8769,
  GPS_IFD: 0x8825,
  INTEROP_IFD: 0xa005,
  THUMB_OFFSET: 0x0201,
  THUMB_LENGTH: 0x0202,
} as const;

/** Serial numbers (Exif 2.3 body/lens, DNG camera) and the MakerNote, where vendors hide serials and GPS. */
const NO_LOCATION_DROP = new Set([0xa431, 0xa435, 0xc62f, 0x927c]);
/**
 * Tags whose value is an offset into the TIFF data (strips, tiles, sub-IFDs, free space) or a
 * whole embedded metadata block (XMP 0x02BC, IPTC 0x83BB, Photoshop resources 0x8649, which can
 * carry their own location). Offsets would dangle after re-laying and the blocks are not filtered
 * here, so they go.
 */
const UNFOLLOWED = new Set([0x0111, 0x0117, 0x0144, 0x0145, 0x0120, 0x0121, 0x014a, 0x02bc, 0x83bb, 0x8649]);
const COPYRIGHT_KEEP = new Set<number>([TAG.COPYRIGHT, TAG.ARTIST, TAG.ORIENTATION]);

/** Bytes per value of each TIFF field type (index = type; 13 is IFD, a LONG offset). 0: unknown. */
const TYPE_SIZE = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4];

export class MalformedExif extends Error {}

type Link = 'exif' | 'gps' | 'interop' | 'thumb';

/** One field as it will be written: value bytes in the source byte order, or a link filled in at layout. */
interface OutEntry {
  tag: number;
  type: number;
  count: number;
  value?: Uint8Array;
  link?: Link;
}

interface RawEntry {
  tag: number;
  type: number;
  count: number;
  /** Where the 4-byte value/offset field sits. */
  field: number;
}

class TiffReader {
  readonly le: boolean;
  private readonly dv: DataView;
  private readonly visited = new Set<number>();

  constructor(readonly t: Uint8Array) {
    if (t.length < 8) throw new MalformedExif('shorter than a TIFF header');
    this.le = t[0] === 0x49 && t[1] === 0x49;
    if (!this.le && !(t[0] === 0x4d && t[1] === 0x4d)) throw new MalformedExif('no TIFF byte-order mark');
    this.dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
    if (this.u16(2) !== 42) throw new MalformedExif('not TIFF (magic is not 42)');
  }

  u16(o: number): number {
    return this.dv.getUint16(o, this.le);
  }

  u32(o: number): number {
    return this.dv.getUint32(o, this.le);
  }

  /** The entries of the IFD at `at` and the offset of the next IFD (0: none). */
  ifd(at: number): { entries: RawEntry[]; next: number } {
    if (at < 8 || at + 2 > this.t.length) throw new MalformedExif(`IFD offset ${at} outside the data`);
    // A pointer loop would otherwise make us copy the same IFD forever.
    if (this.visited.has(at)) throw new MalformedExif(`IFD at ${at} is referenced twice`);
    this.visited.add(at);
    const n = this.u16(at);
    const end = at + 2 + n * 12;
    if (end > this.t.length) throw new MalformedExif(`IFD at ${at} runs past the end`);
    const entries: RawEntry[] = [];
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const e = at + 2 + i * 12;
      const tag = this.u16(e);
      if (seen.has(tag)) continue; // tags are unique per IFD; a repeat is ignored, as readers do
      seen.add(tag);
      entries.push({ tag, type: this.u16(e + 2), count: this.u32(e + 4), field: e + 8 });
    }
    // Some writers end the last IFD without its next-IFD field.
    const next = end + 4 <= this.t.length ? this.u32(end) : 0;
    return { entries, next };
  }

  /** The value bytes of an entry (copied), throwing when its type is unknown or it lies outside the data. */
  value(e: RawEntry): Uint8Array {
    const size = TYPE_SIZE[e.type] ?? 0;
    if (!size) throw new MalformedExif(`tag 0x${e.tag.toString(16)} has unknown type ${e.type}`);
    const len = size * e.count;
    if (len <= 4) return this.t.slice(e.field, e.field + len);
    const off = this.u32(e.field);
    if (off + len > this.t.length) throw new MalformedExif(`tag 0x${e.tag.toString(16)} points outside the data`);
    return this.t.slice(off, off + len);
  }

  /** The IFD offset a pointer tag holds (LONG or IFD type, one value). */
  pointer(e: RawEntry): number {
    if ((e.type !== 4 && e.type !== 13) || e.count !== 1) throw new MalformedExif(`pointer tag 0x${e.tag.toString(16)} is not one LONG`);
    return this.u32(e.field);
  }
}

const copyEntry = (r: TiffReader, e: RawEntry): OutEntry => ({ tag: e.tag, type: e.type, count: e.count, value: r.value(e) });

/** IFD1 when it holds a clean JPEG thumbnail: its entries and the thumbnail bytes; else undefined (it is left out). */
function thumbnailIfd(r: TiffReader, at: number): { entries: OutEntry[]; thumb: Uint8Array } | undefined {
  const { entries: raw } = r.ifd(at);
  const offE = raw.find((e) => e.tag === TAG.THUMB_OFFSET);
  const lenE = raw.find((e) => e.tag === TAG.THUMB_LENGTH);
  // Strip-based (uncompressed) thumbnails are rare and need more offsets: not kept.
  if (!offE || !lenE || raw.some((e) => UNFOLLOWED.has(e.tag))) return undefined;
  const off = r.pointer(offE);
  const len = lenE.count === 1 && lenE.type === 3 ? r.u16(lenE.field) : lenE.count === 1 && lenE.type === 4 ? r.u32(lenE.field) : -1;
  if (len <= 0 || off + len > r.t.length) return undefined; // a truncated thumbnail: drop it, keep the rest
  const thumb = r.t.slice(off, off + len);
  if (!isPlainJpeg(thumb)) return undefined;
  const entries: OutEntry[] = [];
  for (const e of raw) {
    if (NO_LOCATION_DROP.has(e.tag) || e.tag === TAG.EXIF_IFD || e.tag === TAG.GPS_IFD || e.tag === TAG.INTEROP_IFD) continue;
    if (e.tag === TAG.THUMB_OFFSET) entries.push({ tag: e.tag, type: 4, count: 1, link: 'thumb' });
    else entries.push(copyEntry(r, e));
  }
  return { entries, thumb };
}

/**
 * A JPEG with no metadata segments of its own: camera thumbnails are bare, and one carrying an
 * APP1 (EXIF/XMP) or APP13 (IPTC) segment could hold the very location being removed.
 */
function isPlainJpeg(b: Uint8Array): boolean {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return false;
  let o = 2;
  while (o + 4 <= b.length && b[o] === 0xff) {
    const marker = b[o + 1];
    if (marker === 0xda) return true;
    if (marker >= 0xe1 && marker <= 0xef && marker !== 0xee) return false; // APP1..APP15 except Adobe APP14
    o += 2 + ((b[o + 2] << 8) | b[o + 3]);
  }
  return false;
}

interface Filtered {
  ifd0: OutEntry[];
  exif?: OutEntry[];
  interop?: OutEntry[];
  ifd1?: OutEntry[];
  thumb?: Uint8Array;
}

function filterNoLocation(r: TiffReader): Filtered {
  const { entries: raw0, next } = r.ifd(r.u32(4));
  const out: Filtered = { ifd0: [] };
  for (const e of raw0) {
    if (e.tag === TAG.GPS_IFD || e.tag === TAG.INTEROP_IFD || NO_LOCATION_DROP.has(e.tag) || UNFOLLOWED.has(e.tag)) continue;
    if (e.tag !== TAG.EXIF_IFD) {
      out.ifd0.push(copyEntry(r, e));
      continue;
    }
    const exif: OutEntry[] = [];
    for (const x of r.ifd(r.pointer(e)).entries) {
      if (x.tag === TAG.GPS_IFD || x.tag === TAG.EXIF_IFD || NO_LOCATION_DROP.has(x.tag) || UNFOLLOWED.has(x.tag)) continue;
      if (x.tag !== TAG.INTEROP_IFD) {
        exif.push(copyEntry(r, x));
        continue;
      }
      const interop = r.ifd(r.pointer(x)).entries
        .filter((i) => !NO_LOCATION_DROP.has(i.tag) && !UNFOLLOWED.has(i.tag) && i.tag !== TAG.GPS_IFD && i.tag !== TAG.EXIF_IFD && i.tag !== TAG.INTEROP_IFD)
        .map((i) => copyEntry(r, i));
      if (interop.length) {
        out.interop = interop;
        exif.push({ tag: x.tag, type: 4, count: 1, link: 'interop' });
      }
    }
    if (exif.length) {
      out.exif = exif;
      out.ifd0.push({ tag: e.tag, type: 4, count: 1, link: 'exif' });
    }
  }
  if (next) {
    // A broken thumbnail costs only the thumbnail: nothing of it is copied unless it is whole.
    let t: ReturnType<typeof thumbnailIfd>;
    try {
      t = thumbnailIfd(r, next);
    } catch (e) {
      if (!(e instanceof MalformedExif)) throw e;
    }
    if (t) {
      out.ifd1 = t.entries;
      out.thumb = t.thumb;
    }
  }
  return out;
}

function filterCopyright(r: TiffReader): Filtered {
  const ifd0 = r.ifd(r.u32(4)).entries.filter((e) => COPYRIGHT_KEEP.has(e.tag)).map((e) => copyEntry(r, e));
  // Orientation alone says nothing about rights: no EXIF at all then.
  return { ifd0: ifd0.some((e) => e.tag !== TAG.ORIENTATION) ? ifd0 : [] };
}

const even = (n: number) => n + (n & 1);

/** Writes the filtered IFDs as a fresh TIFF in the source's byte order. */
function writeTiff(le: boolean, f: Filtered): Uint8Array {
  const order: [Link | 'ifd0' | 'ifd1', OutEntry[] | undefined][] = [
    ['ifd0', f.ifd0], ['exif', f.exif], ['interop', f.interop], ['ifd1', f.ifd1],
  ];
  const ifdAt = new Map<string, number>();
  const dataAt = new Map<OutEntry, number>();
  let size = 8;
  for (const [name, entries] of order) {
    if (!entries?.length) continue;
    entries.sort((a, b) => a.tag - b.tag); // TIFF wants ascending tags
    size = even(size);
    ifdAt.set(name, size);
    size += 2 + entries.length * 12 + 4;
    for (const e of entries) {
      if (e.value && e.value.length > 4) {
        size = even(size);
        dataAt.set(e, size);
        size += e.value.length;
      }
    }
    if (name === 'ifd1' && f.thumb) {
      size = even(size);
      ifdAt.set('thumb', size);
      size += f.thumb.length;
    }
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = out[1] = le ? 0x49 : 0x4d;
  dv.setUint16(2, 42, le);
  dv.setUint32(4, ifdAt.get('ifd0')!, le);
  for (const [name, entries] of order) {
    const at = ifdAt.get(name);
    if (at === undefined || !entries) continue;
    dv.setUint16(at, entries.length, le);
    entries.forEach((e, i) => {
      const p = at + 2 + i * 12;
      dv.setUint16(p, e.tag, le);
      dv.setUint16(p + 2, e.type, le);
      dv.setUint32(p + 4, e.count, le);
      if (e.link) {
        const target = ifdAt.get(e.link);
        if (target === undefined) throw new Error(`exif layout: nothing to link ${e.link} to`);
        dv.setUint32(p + 8, target, le);
      } else if (dataAt.has(e)) {
        dv.setUint32(p + 8, dataAt.get(e)!, le);
        out.set(e.value!, dataAt.get(e)!);
      } else {
        out.set(e.value!, p + 8); // inline, left-justified; the rest of the field stays zero
      }
    });
    const nextAt = at + 2 + entries.length * 12;
    dv.setUint32(nextAt, name === 'ifd0' ? (ifdAt.get('ifd1') ?? 0) : 0, le);
  }
  if (f.thumb) out.set(f.thumb, ifdAt.get('thumb')!);
  return out;
}

/**
 * Raw EXIF (TIFF header onwards) filtered by a strict policy and rewritten; undefined when nothing
 * is left. Throws MalformedExif when the data cannot be walked with confidence.
 */
export function rewriteExif(tiff: Uint8Array, policy: StrictPolicy): Uint8Array | undefined {
  const r = new TiffReader(tiff);
  const f = policy === 'copyright' ? filterCopyright(r) : filterNoLocation(r);
  if (!f.ifd0.length) return undefined;
  return writeTiff(r.le, f);
}
