/**
 * Just enough ICC to colour-manage photos precisely: a parser for matrix/TRC profiles (sRGB,
 * Display P3, Adobe RGB, ProPhoto, Rec.2020 and the gray equivalents) and a float colour
 * transform between them.
 *
 * Why not let sharp/lcms do it: through sharp, 16-bit images are routed via a P3 working space
 * and lcms precomputes a CLUT for 16-bit transforms; measured on the Kodak set that costs up to
 * 15/255 near black even for an sRGB → sRGB round trip. The maths for matrix/TRC profiles is
 * exact and cheap, so we do it here; LUT-based, CMYK and Lab profiles still go through lcms
 * (see read.ts).
 */

/** Tone curve of one channel: device value in [0,1] → linear light in [0,1]. */
export type Curve =
  | { kind: 'gamma'; g: number }
  | { kind: 'param'; type: number; p: readonly number[] }
  | { kind: 'table'; t: Float64Array };

export interface RgbModel {
  kind: 'rgb';
  /** Row-major 3×3: device-linear RGB → PCS XYZ (D50). Columns are the rXYZ/gXYZ/bXYZ colorants. */
  matrix: readonly number[];
  curves: readonly [Curve, Curve, Curve];
}

export interface GrayModel {
  kind: 'gray';
  curve: Curve;
}

export type ColourModel = RgbModel | GrayModel;

export interface IccInfo {
  /** Header data colour space, trimmed: 'RGB', 'GRAY', 'CMYK', 'Lab', … */
  colorSpace: string;
  /** Header device class: 'mntr', 'scnr', 'prtr', 'spac', … */
  deviceClass: string;
  description?: string;
  /** Present when the profile is a plain matrix/TRC (or gray TRC) profile we can apply exactly. */
  model?: ColourModel;
}

const D50: readonly number[] = [0.9642, 1.0, 0.8249];

function sig(b: Uint8Array, o: number): string {
  return String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
}

/** Returns undefined when the bytes are not an ICC profile at all. Never throws. */
export function parseIcc(bytes: Uint8Array): IccInfo | undefined {
  try {
    return parseIccUnsafe(bytes);
  } catch {
    return undefined;
  }
}

function parseIccUnsafe(b: Uint8Array): IccInfo | undefined {
  if (b.length < 132 || sig(b, 36) !== 'acsp') return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const tags = new Map<string, { off: number; size: number }>();
  const count = dv.getUint32(128);
  if (count > 1000 || 132 + count * 12 > b.length) return undefined;
  for (let i = 0; i < count; i++) {
    const e = 132 + i * 12;
    const off = dv.getUint32(e + 4);
    const size = dv.getUint32(e + 8);
    if (off + size <= b.length && size >= 8) tags.set(sig(b, e), { off, size });
  }
  const info: IccInfo = {
    colorSpace: sig(b, 16).trim(),
    deviceClass: sig(b, 12),
  };
  const desc = tags.get('desc');
  if (desc) {
    const d = readText(b, dv, desc.off, desc.size);
    if (d) info.description = d;
  }
  const pcs = sig(b, 20);
  // A2B0 present means the author wants lcms to use the LUT (at least for perceptual intent),
  // which is what sharp asks for; a matrix/TRC approximation could differ, so leave it to lcms.
  const hasLut = tags.has('A2B0') || tags.has('B2A0');
  const okClass = info.deviceClass === 'mntr' || info.deviceClass === 'scnr' || info.deviceClass === 'spac';
  if (pcs === 'XYZ ' && !hasLut && okClass) {
    if (info.colorSpace === 'RGB') {
      const r = tags.get('rXYZ'), g = tags.get('gXYZ'), bl = tags.get('bXYZ');
      const rc = tags.get('rTRC'), gc = tags.get('gTRC'), bc = tags.get('bTRC');
      if (r && g && bl && rc && gc && bc) {
        const cr = readXYZ(b, dv, r.off), cg = readXYZ(b, dv, g.off), cb = readXYZ(b, dv, bl.off);
        const tr = readCurve(b, dv, rc.off, rc.size), tg = readCurve(b, dv, gc.off, gc.size), tb = readCurve(b, dv, bc.off, bc.size);
        if (cr && cg && cb && tr && tg && tb) {
          const m = [cr[0], cg[0], cb[0], cr[1], cg[1], cb[1], cr[2], cg[2], cb[2]];
          if (invert3(m)) info.model = { kind: 'rgb', matrix: m, curves: [tr, tg, tb] };
        }
      }
    } else if (info.colorSpace === 'GRAY') {
      const k = tags.get('kTRC');
      const c = k && readCurve(b, dv, k.off, k.size);
      if (c) info.model = { kind: 'gray', curve: c };
    }
  }
  return info;
}

function s15(dv: DataView, o: number): number {
  return dv.getInt32(o) / 65536;
}

function readXYZ(b: Uint8Array, dv: DataView, off: number): number[] | undefined {
  if (sig(b, off) !== 'XYZ ' || off + 20 > b.length) return undefined;
  const v = [s15(dv, off + 8), s15(dv, off + 12), s15(dv, off + 16)];
  return v.every(Number.isFinite) ? v : undefined;
}

const PARAM_COUNTS = [1, 3, 4, 5, 7];

function readCurve(b: Uint8Array, dv: DataView, off: number, size: number): Curve | undefined {
  const type = sig(b, off);
  if (type === 'curv') {
    const n = dv.getUint32(off + 8);
    if (12 + n * 2 > size) return undefined;
    if (n === 0) return { kind: 'gamma', g: 1 };
    if (n === 1) {
      const g = dv.getUint16(off + 12) / 256;
      return g > 0 ? { kind: 'gamma', g } : undefined;
    }
    const t = new Float64Array(n);
    for (let i = 0; i < n; i++) t[i] = dv.getUint16(off + 12 + i * 2) / 65535;
    // Only rising curves can be inverted for export; anything else is not a sane photo profile.
    if (t[n - 1] <= t[0]) return undefined;
    return { kind: 'table', t };
  }
  if (type === 'para') {
    const ft = dv.getUint16(off + 8);
    const np = PARAM_COUNTS[ft];
    if (np === undefined || 12 + np * 4 > size) return undefined;
    const p: number[] = [];
    for (let i = 0; i < np; i++) p.push(s15(dv, off + 12 + i * 4));
    if (!(p[0] > 0)) return undefined;
    return { kind: 'param', type: ft, p };
  }
  return undefined;
}

function readText(b: Uint8Array, dv: DataView, off: number, size: number): string | undefined {
  const type = sig(b, off);
  const clean = (s: string): string | undefined => {
    const t = s.replace(/\0[\s\S]*$/, '').trim();
    return t.length > 0 ? t : undefined;
  };
  if (type === 'desc') {
    // ICC v2 textDescriptionType: ASCII length (incl. NUL) then the string.
    const n = dv.getUint32(off + 8);
    if (12 + n > size) return undefined;
    return clean(new TextDecoder('latin1').decode(b.subarray(off + 12, off + 12 + n)));
  }
  if (type === 'text') return clean(new TextDecoder('latin1').decode(b.subarray(off + 8, off + size)));
  if (type === 'mluc') {
    // ICC v4 multiLocalizedUnicodeType: records of (lang, country, length, offset), UTF-16BE.
    const n = dv.getUint32(off + 8);
    const rec = dv.getUint32(off + 12);
    if (rec < 12 || 16 + n * rec > size) return undefined;
    if (n === 0) return undefined;
    let pick = off + 16;
    for (let i = 0; i < n; i++) {
      const r = off + 16 + i * rec;
      if (sig(b, r).startsWith('en')) {
        pick = r;
        break;
      }
    }
    const len = dv.getUint32(pick + 4);
    const start = off + dv.getUint32(pick + 8);
    if (start + len > off + size) return undefined;
    let s = '';
    for (let i = 0; i + 1 < len; i += 2) s += String.fromCharCode(dv.getUint16(start + i));
    return clean(s);
  }
  return undefined;
}

/** Profile description for display, e.g. "Display P3"; undefined when absent or unreadable. */
export function iccDescription(bytes: Uint8Array): string | undefined {
  return parseIcc(bytes)?.description;
}

// ---- curves -------------------------------------------------------------------------------

export function evalCurve(c: Curve, x: number): number {
  let y: number;
  if (c.kind === 'gamma') {
    y = x <= 0 ? 0 : Math.pow(x, c.g);
  } else if (c.kind === 'table') {
    const t = c.t;
    const f = Math.min(1, Math.max(0, x)) * (t.length - 1);
    const i = Math.min(t.length - 2, Math.floor(f));
    y = t[i] + (t[i + 1] - t[i]) * (f - i);
  } else {
    // ICC parametricCurveType, functions 0..4.
    const [g, a = 1, b = 0, c2 = 0, d = 0, e = 0, f = 0] = c.p;
    const pw = (v: number): number => Math.pow(Math.max(0, v), g);
    switch (c.type) {
      case 0: y = pw(x); break;
      case 1: y = x >= -b / a ? pw(a * x + b) : 0; break;
      case 2: y = x >= -b / a ? pw(a * x + b) + c2 : c2; break;
      case 3: y = x >= d ? pw(a * x + b) : c2 * x; break;
      default: y = x >= d ? pw(a * x + b) + e : c2 * x + f; break;
    }
  }
  return y > 0 ? (y < 1 ? y : 1) : 0;
}

/** Device code (0..2^bits-1) → linear light. */
function decodeTable(c: Curve, bits: 8 | 16): Float64Array {
  const n = bits === 8 ? 256 : 65536;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = evalCurve(c, i / (n - 1));
  return t;
}

/*
 * Inverse curve (linear → device) sampled at u = y^(1/4). In that variable every photo TRC
 * (gammas 1..3, sRGB-style linear toes, tables) is smooth with finite slope, so 4096 linearly
 * interpolated cells are accurate to about 0.01 of a 16-bit code, including the deep shadows
 * where a uniform-in-y table fails.
 */
const ENC_CELLS = 4096;

function encodeTable(c: Curve): Float64Array {
  const t = new Float64Array(ENC_CELLS + 1);
  for (let i = 0; i <= ENC_CELLS; i++) {
    const u = i / ENC_CELLS;
    const y = u * u * u * u;
    // Lowest x with f(x) >= y, by bisection (curves are non-decreasing).
    let lo = 0, hi = 1;
    if (evalCurve(c, 0) >= y) hi = 0;
    for (let k = 0; k < 52 && hi - lo > 1e-15; k++) {
      const mid = (lo + hi) / 2;
      if (evalCurve(c, mid) >= y) hi = mid;
      else lo = mid;
    }
    t[i] = hi;
  }
  return t;
}

const SRGB_CURVE: Curve = { kind: 'param', type: 3, p: [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045] };

/** sRGB (IEC 61966-2-1) as an ICC-style model: D65 primaries, Bradford-adapted to the D50 PCS. */
export const SRGB: RgbModel = (() => {
  const xy = [[0.64, 0.33], [0.3, 0.6], [0.15, 0.06]];
  const wD65 = [0.3127 / 0.329, 1, (1 - 0.3127 - 0.329) / 0.329];
  // Unscaled primaries as columns, then scale so that RGB=1 gives the white point.
  const P = [xy[0][0] / xy[0][1], xy[1][0] / xy[1][1], xy[2][0] / xy[2][1], 1, 1, 1,
    (1 - xy[0][0] - xy[0][1]) / xy[0][1], (1 - xy[1][0] - xy[1][1]) / xy[1][1], (1 - xy[2][0] - xy[2][1]) / xy[2][1]];
  const s = mulMV(invert3(P)!, wD65);
  const M65 = [P[0] * s[0], P[1] * s[1], P[2] * s[2], P[3] * s[0], P[4] * s[1], P[5] * s[2], P[6] * s[0], P[7] * s[1], P[8] * s[2]];
  const BFD = [0.8951, 0.2664, -0.1614, -0.7502, 1.7135, 0.0367, 0.0389, -0.0685, 1.0296];
  const cs = mulMV(BFD, wD65), cd = mulMV(BFD, D50);
  const scale = [cd[0] / cs[0], 0, 0, 0, cd[1] / cs[1], 0, 0, 0, cd[2] / cs[2]];
  const adapt = mulMM(invert3(BFD)!, mulMM(scale, BFD));
  return { kind: 'rgb', matrix: mulMM(adapt, M65), curves: [SRGB_CURVE, SRGB_CURVE, SRGB_CURVE] };
})();

// ---- small linear algebra -----------------------------------------------------------------

function mulMV(m: readonly number[], v: readonly number[]): number[] {
  return [0, 1, 2].map((r) => m[r * 3] * v[0] + m[r * 3 + 1] * v[1] + m[r * 3 + 2] * v[2]);
}

function mulMM(a: readonly number[], b: readonly number[]): number[] {
  const o: number[] = [];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) o.push(a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c]);
  return o;
}

function invert3(m: readonly number[]): number[] | undefined {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h, B = f * g - d * i, C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-9) return undefined;
  return [A / det, (c * h - b * i) / det, (b * f - c * e) / det,
    B / det, (a * i - c * g) / det, (c * d - a * f) / det,
    C / det, (b * g - a * h) / det, (a * e - b * d) / det];
}

// ---- equivalence ----------------------------------------------------------------------------

function sameCurve(a: Curve, b: Curve): boolean {
  if (a === b) return true;
  for (let i = 0; i <= 1024; i++) {
    const x = i / 1024;
    const ya = evalCurve(a, x), yb = evalCurve(b, x);
    if (Math.abs(ya - yb) > 5e-5 + 1e-3 * yb) return false;
  }
  return true;
}

/**
 * True when converting between the two models would change no 8-bit value: same colorants within
 * what vendors' differently rounded sRGB profiles disagree by, and the same curves. Used to leave
 * sRGB-tagged photos untouched (bit-exact) instead of pushing them through a no-op transform.
 */
export function sameRgbModel(a: RgbModel, b: RgbModel): boolean {
  for (let i = 0; i < 9; i++) if (Math.abs(a.matrix[i] - b.matrix[i]) > 5e-4) return false;
  return a.curves.every((c, i) => sameCurve(c, b.curves[i]));
}

/** Linear y → device value via an encodeTable (clamped; out-of-gamut clips per channel). */
function encode(e: Float64Array, y: number): number {
  if (!(y > 0)) return e[0];
  if (y >= 1) return e[ENC_CELLS];
  const t = Math.sqrt(Math.sqrt(y)) * ENC_CELLS;
  const i = t | 0;
  return e[i] + (e[i + 1] - e[i]) * (t - i);
}

// ---- pixel transform ----------------------------------------------------------------------

export type Samples = Uint8Array | Uint16Array;

export interface ConvertOptions {
  src: Samples;
  srcBits: 8 | 16;
  /** Interleaved channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (alpha last). */
  channels: 1 | 2 | 3 | 4;
  /** Colour model of src; undefined means "already in `to`'s space" (no colour change). */
  from?: ColourModel;
  /** Destination RGB model; required with `from`. */
  to?: RgbModel;
  outBits: 8 | 16;
  /** Destination (3 channels). May be `src` itself for in-place RGB → RGB at equal bit depth. */
  out?: Samples;
}

const tableCache = new WeakMap<Curve, { dec8?: Float64Array; dec16?: Float64Array; enc?: Float64Array }>();
function tables(c: Curve): { dec8?: Float64Array; dec16?: Float64Array; enc?: Float64Array } {
  let t = tableCache.get(c);
  if (!t) tableCache.set(c, (t = {}));
  return t;
}
function dec(c: Curve, bits: 8 | 16): Float64Array {
  const t = tables(c);
  if (bits === 8) return (t.dec8 ??= decodeTable(c, 8));
  return (t.dec16 ??= decodeTable(c, 16));
}
function enc(c: Curve): Float64Array {
  const t = tables(c);
  return (t.enc ??= encodeTable(c));
}

/**
 * Converts interleaved pixels to 3-channel RGB: optional colour transform (relative colorimetric,
 * out-of-gamut colours clipped per channel), alpha flattened over white in the output's encoded
 * values (what viewers show), gray expanded, bit depth changed. Output values are rounded half up.
 */
export function convertPixels(o: ConvertOptions): Samples {
  const { src, srcBits, channels, from, to, outBits } = o;
  const nPix = src.length / channels;
  const out = o.out ?? (outBits === 8 ? new Uint8Array(nPix * 3) : new Uint16Array(nPix * 3));
  const oMax = outBits === 8 ? 255 : 65535;
  const sMax = srcBits === 8 ? 255 : 65535;
  const hasAlpha = channels === 2 || channels === 4;
  const gray = channels <= 2;

  if (!from || !to) {
    // No colour change: rescale, expand gray, flatten.
    const k = 1 / sMax;
    for (let p = 0, s = 0, d = 0; p < nPix; p++, s += channels, d += 3) {
      const a = hasAlpha ? src[s + channels - 1] * k : 1;
      const w = 1 - a;
      for (let c = 0; c < 3; c++) {
        const v = src[s + (gray ? 0 : c)] * k * a + w;
        out[d + c] = (v * oMax + 0.5) | 0;
      }
    }
    return out;
  }

  const inv = invert3(to.matrix)!;
  // Linear source → linear destination. Gray maps Y onto the destination's white (D50 in PCS).
  const m = from.kind === 'rgb' ? mulMM(inv, from.matrix) : mulMV(inv, D50);
  const e0 = enc(to.curves[0]), e1 = enc(to.curves[1]), e2 = enc(to.curves[2]);
  const kA = 1 / sMax;

  if (from.kind === 'gray') {
    if (!gray) throw new Error('convertPixels: gray profile given for RGB pixels');
    const dg = dec(from.curve, srcBits);
    for (let p = 0, s = 0, d = 0; p < nPix; p++, s += channels, d += 3) {
      const Y = dg[src[s]];
      const a = hasAlpha ? src[s + channels - 1] * kA : 1;
      const w = 1 - a;
      out[d] = ((encode(e0, m[0] * Y) * a + w) * oMax + 0.5) | 0;
      out[d + 1] = ((encode(e1, m[1] * Y) * a + w) * oMax + 0.5) | 0;
      out[d + 2] = ((encode(e2, m[2] * Y) * a + w) * oMax + 0.5) | 0;
    }
    return out;
  }

  if (gray) throw new Error('convertPixels: RGB profile given for gray pixels');
  const d0 = dec(from.curves[0], srcBits), d1 = dec(from.curves[1], srcBits), d2 = dec(from.curves[2], srcBits);
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8] = m;
  if (!hasAlpha && channels === 3) {
    // Hot path (every colour-managed photo); safe in place because each pixel is read before written.
    for (let i = 0; i < src.length; i += 3) {
      const r = d0[src[i]], g = d1[src[i + 1]], b = d2[src[i + 2]];
      out[i] = (encode(e0, m0 * r + m1 * g + m2 * b) * oMax + 0.5) | 0;
      out[i + 1] = (encode(e1, m3 * r + m4 * g + m5 * b) * oMax + 0.5) | 0;
      out[i + 2] = (encode(e2, m6 * r + m7 * g + m8 * b) * oMax + 0.5) | 0;
    }
    return out;
  }
  for (let p = 0, s = 0, d = 0; p < nPix; p++, s += channels, d += 3) {
    const r = d0[src[s]], g = d1[src[s + 1]], b = d2[src[s + 2]];
    const a = hasAlpha ? src[s + 3] * kA : 1;
    const w = 1 - a;
    out[d] = ((encode(e0, m0 * r + m1 * g + m2 * b) * a + w) * oMax + 0.5) | 0;
    out[d + 1] = ((encode(e1, m3 * r + m4 * g + m5 * b) * a + w) * oMax + 0.5) | 0;
    out[d + 2] = ((encode(e2, m6 * r + m7 * g + m8 * b) * a + w) * oMax + 0.5) | 0;
  }
  return out;
}
