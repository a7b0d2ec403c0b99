/**
 * Photo decoding: any format sharp reads → upright sRGB RasterImage (8- or 16-bit) plus the
 * metadata needed to write the photo back faithfully. See docs/image-handling.md.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import { SgaiError } from '../errors';
import { convertPixels, parseIcc, sameRgbModel, SRGB, type ColourModel, type Samples } from './icc';
import { applyMetadataPolicy, isMetadataPolicy, METADATA_POLICIES, type MetadataPolicy } from './metadata-policy';
import type { ImageMetadata, RasterImage } from './raster';

export { METADATA_POLICIES, type MetadataPolicy } from './metadata-policy';

export interface ReadOptions {
  /** Refuse images with more pixels than this (IMAGE_TOO_LARGE); the CLI's --max-megapixels. Default DEFAULT_MAX_PIXELS. */
  maxPixels?: number;
  /**
   * An image with real transparency (some pixel not fully opaque): 'refuse' (default,
   * UNSUPPORTED_IMAGE naming --flatten) or 'flatten' it over white. An alpha channel that is
   * fully opaque is always accepted silently.
   */
  alpha?: 'refuse' | 'flatten';
  /** An animated / multi-page image: 'refuse' (default, naming --first-frame) or read only the 'first' frame. */
  frames?: 'refuse' | 'first';
  /** The file's path when `input` is its bytes: named in messages, and its extension checked. */
  name?: string;
  /**
   * Which EXIF/XMP to keep (metadata-policy.ts): 'all' (default), 'no-location' (no GPS, no
   * serial numbers, no MakerNote) or 'copyright' (Copyright and Artist only). The ICC profile is
   * always kept.
   */
  metadata?: MetadataPolicy;
}

/** The default pixel limit (100 MP): above it the CLI asks for --max-megapixels. */
export const DEFAULT_MAX_PIXELS = 100e6;

/**
 * Rough peak memory of encoding an image of this many pixels, for the too-large message. Fitted
 * to peak RSS of encodeFile with the largest shipped model on wasm (3.8 MP: 0.86 GB, 15 MP:
 * 1.14 GB): ~0.8 GB of runtime and weights plus ~25 B per pixel (raster, decode buffer,
 * latents); 16-bit sources hold two bytes per sample. An estimate to size the machine, not a
 * guarantee.
 */
export function estimateEncodeMemoryBytes(pixels: number, bitDepth: 8 | 16 = 8): number {
  return 0.8e9 + pixels * (bitDepth === 16 ? 32 : 25);
}

const FORMATS = new Set(['jpeg', 'png', 'webp', 'tiff', 'heif', 'gif']);
// sharp's prebuilt libheif decodes AVIF only; HEVC (HEIC) needs a custom libvips build.
const HEVC_DECODER = sharp.format.heif?.input?.fileSuffix?.includes('.heic') ?? false;
const FORMAT_LIST = 'JPEG, PNG, TIFF, WebP, HEIC/AVIF or GIF';

// TIFF-based raw files would otherwise "open" as their tiny embedded preview or as undemosaiced
// sensor data, and be silently compressed as such.
const CAMERA_RAW = new Set([
  '.3fr', '.ari', '.arw', '.bay', '.cr2', '.cr3', '.crw', '.dcr', '.dng', '.erf', '.fff', '.iiq', '.k25',
  '.kdc', '.mef', '.mos', '.mrw', '.nef', '.nrw', '.orf', '.pef', '.raf', '.raw', '.rw2', '.rwl', '.sr2',
  '.srf', '.srw', '.x3f',
]);

function formatMp(px: number): string {
  return `${(px / 1e6).toFixed(px < 10e6 ? 1 : 0)} MP`;
}

/** A source file's bytes, read-only, with a message a user can act on when that fails. */
export async function loadFile(path: string): Promise<Buffer> {
  // Read the bytes ourselves instead of handing sharp the path: libvips caches file loads by
  // name, so a photo re-exported under the same name could otherwise come back stale.
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'the file does not exist'
      : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
      : code === 'EISDIR' ? 'it is a folder, not an image file'
      : (e as Error).message;
    throw new SgaiError('IO', `Cannot open "${path}": ${why}.`, { cause: e });
  }
}

function decodeError(e: unknown, label: string): SgaiError {
  const msg = e instanceof Error ? e.message : String(e);
  if (/pixel limit/i.test(msg)) {
    return new SgaiError('IMAGE_TOO_LARGE', `${label} is too large to open.`, { cause: e });
  }
  if (/unsupported image format/i.test(msg)) {
    return new SgaiError('UNSUPPORTED_IMAGE', `${label} is not an image sgai can read (it reads ${FORMAT_LIST}).`, { cause: e });
  }
  const reason = msg.split('\n')[0].replace(/^\w+: /, '').trim();
  return new SgaiError(
    'UNSUPPORTED_IMAGE',
    `${label} could not be decoded; it looks damaged or truncated (${reason}). Re-export it from the original if you can.`,
    { cause: e },
  );
}

function bytes(b: Buffer | undefined): Uint8Array | undefined {
  // Copy: metadata buffers may be views into a shared pool.
  return b && b.length > 0 ? new Uint8Array(b) : undefined;
}

function stripExifHeader(b: Uint8Array | undefined): Uint8Array | undefined {
  if (b && b.length >= 6 && b[0] === 0x45 && b[1] === 0x78 && b[2] === 0x69 && b[3] === 0x66 && b[4] === 0 && b[5] === 0) {
    return b.length > 6 ? b.slice(6) : undefined;
  }
  return b;
}

/** True when some alpha sample (the last of each pixel's channels) is below fully opaque. */
function hasTransparency(samples: Samples, channels: 2 | 4, bits: 8 | 16): boolean {
  const opaque = bits === 16 ? 65535 : 255;
  for (let i = channels - 1; i < samples.length; i += channels) if (samples[i] !== opaque) return true;
  return false;
}

/**
 * Frames or pages in the file. sharp reports `pages` for GIF, WebP, TIFF and HEIF; libvips
 * does not read APNG, so its acTL chunk (frame count, before the first IDAT) is read here.
 */
function frameCount(m: sharp.Metadata, src: Buffer): number {
  let n = typeof m.pages === 'number' && m.pages > 1 ? m.pages : 1;
  if (m.format === 'png') n = Math.max(n, apngFrames(src));
  return n;
}

function apngFrames(png: Buffer): number {
  for (let o = 8; o + 12 <= png.length; ) {
    const len = png.readUInt32BE(o);
    const type = png.toString('latin1', o + 4, o + 8);
    if (type === 'acTL' && len >= 8 && o + 16 <= png.length) return png.readUInt32BE(o + 8);
    if (type === 'IDAT' || type === 'IEND') return 1;
    o += 12 + len;
  }
  return 1;
}

function asSamples(buf: Buffer, bits: 8 | 16): Samples {
  if (bits === 8) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteOffset % 2 === 0) return new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
  return new Uint16Array(new Uint8Array(buf).buffer); // unaligned view: copy (only tiny outputs)
}

/**
 * Decodes a photo to upright sRGB. Errors: IO (missing/unreadable file), UNSUPPORTED_IMAGE
 * (unknown format, damaged file, camera raw; transparency or animation unless allowed by
 * `alpha` / `frames`), IMAGE_TOO_LARGE (over maxPixels).
 */
export async function readImage(
  input: string | Uint8Array,
  opts: ReadOptions = {},
): Promise<{ image: RasterImage; meta: ImageMetadata }> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (typeof maxPixels !== 'number' || !(maxPixels > 0)) {
    throw new SgaiError('INVALID_ARGUMENT', `maxPixels must be a positive number, got ${String(maxPixels)}.`);
  }
  const alphaMode = opts.alpha ?? 'refuse';
  const frameMode = opts.frames ?? 'refuse';
  if (alphaMode !== 'refuse' && alphaMode !== 'flatten') {
    throw new SgaiError('INVALID_ARGUMENT', `alpha must be 'refuse' or 'flatten', got ${String(alphaMode)}.`);
  }
  if (frameMode !== 'refuse' && frameMode !== 'first') {
    throw new SgaiError('INVALID_ARGUMENT', `frames must be 'refuse' or 'first', got ${String(frameMode)}.`);
  }
  const policy = opts.metadata ?? 'all';
  if (!isMetadataPolicy(policy)) {
    throw new SgaiError('INVALID_ARGUMENT', `metadata must be ${METADATA_POLICIES.map((p) => `'${p}'`).join(', ')}; got ${String(policy)}.`);
  }
  let label: string;
  let src: Buffer;
  const name = typeof input === 'string' ? input : opts.name;
  if (name !== undefined) {
    label = `"${name}"`;
    const ext = extname(name).toLowerCase();
    if (CAMERA_RAW.has(ext)) {
      throw new SgaiError(
        'UNSUPPORTED_IMAGE',
        `${label} is a camera raw file (${ext}), which sgai cannot develop. Export a 16-bit TIFF or PNG (or a JPEG) from your raw converter and use that.`,
      );
    }
  } else {
    label = 'The image data';
  }
  if (typeof input === 'string') {
    src = await loadFile(input);
  } else if (input instanceof Uint8Array) {
    src = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  } else {
    throw new SgaiError('INVALID_ARGUMENT', 'readImage expects a file path or the file bytes.');
  }
  if (src.length === 0) throw new SgaiError('UNSUPPORTED_IMAGE', `${label} is empty (0 bytes).`);

  // Header only, no pixel decode: lets us refuse huge images with a useful message before
  // allocating anything.
  let m: sharp.Metadata;
  try {
    m = await sharp(src, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw decodeError(e, label);
  }
  const format = m.format === 'heif' && m.compression === 'av1' ? 'avif' : String(m.format);
  if (!FORMATS.has(String(m.format))) {
    throw new SgaiError('UNSUPPORTED_IMAGE', `${label} is a ${format.toUpperCase()} file; sgai reads ${FORMAT_LIST}.`);
  }
  if (m.format === 'heif' && m.compression === 'hevc' && !HEVC_DECODER) {
    throw new SgaiError(
      'UNSUPPORTED_IMAGE',
      `${label} is a HEIC photo, and this build cannot decode HEVC. Export it as JPEG, PNG or TIFF first (on an iPhone, Settings → Camera → Formats → Most Compatible avoids HEIC).`,
    );
  }
  const frames = frameCount(m, src);
  if (frames > 1 && frameMode !== 'first') {
    throw new SgaiError(
      'UNSUPPORTED_IMAGE',
      m.format === 'tiff' || m.format === 'heif'
        ? `${label} has ${frames} pages; .sgai stores one picture: pass --first-frame to encode only the first page.`
        : `${label} is animated (${frames} frames); .sgai stores one picture: pass --first-frame to encode only the first frame.`,
    );
  }
  // Per frame: sharp reports one page's size, and only page 0 is decoded.
  const pixels = m.width * m.height;
  if (pixels > maxPixels) {
    const gb = estimateEncodeMemoryBytes(pixels, m.depth === 'ushort' ? 16 : 8) / 1e9;
    throw new SgaiError(
      'IMAGE_TOO_LARGE',
      `${label} is ${m.width}×${m.height} (${formatMp(pixels)}), over the ${formatMp(maxPixels)} limit; ` +
        `pass --max-megapixels ${Math.ceil(pixels / 1e6)} to encode it (needs about ${gb.toFixed(gb < 10 ? 1 : 0)} GB of memory), or downscale it first.`,
    );
  }
  if (m.depth !== 'uchar' && m.depth !== 'ushort') {
    throw new SgaiError(
      'UNSUPPORTED_IMAGE',
      `${label} stores ${m.depth} samples (e.g. 32-bit float HDR); sgai reads 8- and 16-bit images. Save it as a 16-bit TIFF or PNG.`,
    );
  }
  const bitDepth: 8 | 16 = m.depth === 'ushort' ? 16 : 8;
  const b16 = bitDepth === 16;

  const icc = bytes(m.icc);
  const iccInfo = icc ? parseIcc(icc) : undefined;
  const gray = m.space === 'b-w' || m.space === 'grey16';
  const rgb = m.space === 'srgb' || m.space === 'rgb16';
  const model: ColourModel | undefined =
    iccInfo?.model && ((iccInfo.model.kind === 'rgb' && rgb) || (iccInfo.model.kind === 'gray' && gray)) ? iccInfo.model : undefined;

  const limit = Number.isFinite(maxPixels) ? Math.max(1, Math.floor(maxPixels)) : false;
  // 'error' still rejects truncated files (which would otherwise decode with a grey bottom and
  // get compressed as if whole) but tolerates benign decoder warnings such as the stray bytes
  // some cameras leave between JPEG markers.
  const failOn = 'error';
  let pipeline: sharp.Sharp;
  if (model) {
    // Matrix/TRC or gray profile: decode untouched and convert exactly ourselves (icc.ts).
    pipeline = sharp(src, { limitInputPixels: limit, failOn, ignoreIcc: true })
      .autoOrient()
      .toColourspace(gray ? (b16 ? 'grey16' : 'b-w') : b16 ? 'rgb16' : 'srgb');
  } else {
    // Everything else (CMYK, Lab, LUT-based profiles, untagged) goes through sharp/lcms.
    pipeline = sharp(src, { limitInputPixels: limit, failOn }).autoOrient();
    if (b16 && m.space === 'rgb16' && m.hasProfile) {
      // sharp converts 16-bit RGB into a P3 working space, not sRGB; this brings it to sRGB.
      pipeline = pipeline.withIccProfile('srgb', { attach: false });
    }
    pipeline = pipeline.toColourspace(b16 ? 'rgb16' : 'srgb');
  }
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await pipeline.raw({ depth: b16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw decodeError(e, label);
  }
  const { width, height, channels } = raw.info;
  if (channels < 1 || channels > 4) throw new SgaiError('UNSUPPORTED_IMAGE', `${label} decoded to ${channels} channels; expected gray or RGB.`);
  const samples = asSamples(raw.data, bitDepth);
  // Look at the alpha samples themselves: many opaque images (PNG exports, screenshots, some
  // GIFs) carry an alpha channel that is all opaque, and those lose nothing.
  const transparent = (channels === 2 || channels === 4) && hasTransparency(samples, channels as 2 | 4, bitDepth);
  if (transparent && alphaMode !== 'flatten') {
    throw new SgaiError(
      'UNSUPPORTED_IMAGE',
      `${label} has transparency, which .sgai does not keep; pass --flatten to place it on white.`,
    );
  }
  // An sRGB-equivalent profile is left alone so sRGB photos stay bit-exact.
  const from = model && !(model.kind === 'rgb' && sameRgbModel(model, SRGB)) ? model : undefined;
  let data: Samples;
  if (channels === 3 && !from) {
    data = samples;
  } else {
    data = convertPixels({
      src: samples,
      srcBits: bitDepth,
      channels: channels as 1 | 2 | 3 | 4,
      from,
      to: from ? SRGB : undefined,
      outBits: bitDepth,
      // In place when the layout does not change: no second full-size buffer.
      out: channels === 3 ? samples : undefined,
    });
  }

  const orientation = typeof m.orientation === 'number' && Number.isInteger(m.orientation) ? m.orientation : 1;
  const meta: ImageMetadata = { format, bitDepth, hadAlpha: transparent, orientation };
  if (icc) meta.icc = icc;
  const { exif, xmp } = applyMetadataPolicy({ exif: stripExifHeader(bytes(m.exif)), xmp: bytes(m.xmp) }, policy);
  if (exif) meta.exif = exif;
  if (xmp) meta.xmp = xmp;
  if (iccInfo?.description) meta.iccDescription = iccInfo.description;
  return { image: { width, height, bitDepth, data }, meta };
}
