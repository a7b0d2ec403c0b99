/**
 * Metadata policies ('all' | 'no-location' | 'copyright'): the EXIF rewriter on hand-built TIFF
 * in both byte orders (structure checked byte by byte: nothing unreferenced is left), the XMP
 * filter, malformed input, and real photos through the real codec, in-process, in an encoder
 * process and through the CLI: the .sgai bytes and the PNG/JPEG exported from them are searched
 * for the removed values.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import exifr from 'exifr';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { decode, encodeFile } from '../src/core/codec';
import { SgaiError } from '../src/core/errors';
import { rewriteExif } from '../src/core/image/exif-policy';
import { encodeImage } from '../src/core/image/export';
import { applyMetadataPolicy, METADATA_POLICIES, type MetadataPolicy } from '../src/core/image/metadata-policy';
import { spliceJpeg } from '../src/core/image/metadata';
import { readImage } from '../src/core/image/read';
import { rewriteXmp } from '../src/core/image/xmp-policy';
import { type LoadedModel, loadModelFromPath } from '../src/core/model/registry';
import { metadataOption } from '../src/cli/options';
import { planBatch } from '../src/engine/plan';
import { runBatch, settingsKey } from '../src/engine/run';
import { TEST_MODEL_ID, TEST_MODEL_PATH, listFiles, runCli, tempDir } from './helpers';

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Whether `needle` occurs anywhere in `hay`. */
function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle)) >= 0;
}

function u32s(le: boolean, values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 4);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => dv.setUint32(i * 4, v, le));
  return b;
}

// ---- a TIFF builder for the tests ---------------------------------------------------------------

interface Field {
  tag: number;
  /** 2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL, 7 UNDEFINED */
  type: 2 | 3 | 4 | 5 | 7;
  value?: string | number[] | Uint8Array;
  /** A LONG holding the offset of this IFD or blob. */
  to?: string;
}

/**
 * Lays IFDs and blobs out one after the other, values right after their IFD with no alignment
 * (as some writers do), so the rewriter has to re-lay and align them.
 */
function buildTiff(le: boolean, ifds: { name: string; fields: Field[]; next?: string }[], blobs: Record<string, Uint8Array> = {}): Uint8Array {
  const size = (f: Field) => {
    if (f.to) return 4;
    const v = f.value!;
    if (f.type === 2) return (v as string).length + 1;
    if (f.type === 7) return (v as Uint8Array).length;
    return (v as number[]).length * (f.type === 3 ? 2 : 4);
  };
  const count = (f: Field) => (f.to ? 1 : f.type === 5 ? (f.value as number[]).length / 2 : f.type === 3 || f.type === 4 ? (f.value as number[]).length : size(f));
  const at = new Map<string, number>();
  let o = 8;
  for (const ifd of ifds) {
    at.set(ifd.name, o);
    o += 2 + ifd.fields.length * 12 + 4;
    for (const f of ifd.fields) if (size(f) > 4) o += size(f);
  }
  for (const [name, b] of Object.entries(blobs)) {
    at.set(name, o);
    o += b.length;
  }
  const out = new Uint8Array(o);
  const dv = new DataView(out.buffer);
  out[0] = out[1] = le ? 0x49 : 0x4d;
  dv.setUint16(2, 42, le);
  dv.setUint32(4, 8, le);
  for (const ifd of ifds) {
    const base = at.get(ifd.name)!;
    let data = base + 2 + ifd.fields.length * 12 + 4;
    dv.setUint16(base, ifd.fields.length, le);
    ifd.fields.forEach((f, i) => {
      const p = base + 2 + i * 12;
      dv.setUint16(p, f.tag, le);
      dv.setUint16(p + 2, f.to ? 4 : f.type, le);
      dv.setUint32(p + 4, count(f), le);
      if (f.to) {
        dv.setUint32(p + 8, at.get(f.to)!, le);
        return;
      }
      const bytes = new Uint8Array(size(f));
      const bv = new DataView(bytes.buffer);
      if (f.type === 2) bytes.set(enc(f.value as string));
      else if (f.type === 7) bytes.set(f.value as Uint8Array);
      else (f.value as number[]).forEach((v, k) => (f.type === 3 ? bv.setUint16(k * 2, v, le) : bv.setUint32(k * 4, v, le)));
      if (bytes.length <= 4) out.set(bytes, p + 8);
      else {
        dv.setUint32(p + 8, data, le);
        out.set(bytes, data);
        data += bytes.length;
      }
    });
    dv.setUint32(base + 2 + ifd.fields.length * 12, ifd.next ? at.get(ifd.next)! : 0, le);
  }
  for (const [name, b] of Object.entries(blobs)) out.set(b, at.get(name)!);
  return out;
}

const SECRET = {
  body: 'BODY-SN-4711',
  lens: 'LENS-SN-0815',
  camera: 'CAM-SN-9012',
  makerNote: 'MAKERNOTE-GPS-52.52-SERIAL-XY',
};
const GPS_LAT = [52, 1, 31, 1, 1200, 100];
const GPS_LON = [13, 1, 24, 1, 3600, 100];

async function plainThumbnail(): Promise<Uint8Array> {
  return new Uint8Array(await sharp({ create: { width: 16, height: 12, channels: 3, background: { r: 200, g: 90, b: 30 } } }).jpeg().toBuffer());
}

function cameraTiff(le: boolean, thumb: Uint8Array): Uint8Array {
  return buildTiff(le, [
    {
      name: 'ifd0', next: 'ifd1', fields: [
        { tag: 0x010f, type: 2, value: 'SgaiCam' },
        { tag: 0x0110, type: 2, value: 'Field 7' },
        { tag: 0x0112, type: 3, value: [6] },
        { tag: 0x013b, type: 2, value: 'Ann Example' },
        { tag: 0x8298, type: 2, value: '(c) 2024 Ann Example' },
        { tag: 0x8769, type: 4, to: 'exif' },
        { tag: 0x8825, type: 4, to: 'gps' },
        { tag: 0xc62f, type: 2, value: SECRET.camera },
      ],
    },
    {
      name: 'exif', fields: [
        { tag: 0x9003, type: 2, value: '2024:06:21 18:42:07' },
        { tag: 0x927c, type: 7, value: enc(SECRET.makerNote) },
        { tag: 0xa005, type: 4, to: 'interop' },
        { tag: 0xa420, type: 2, value: 'UNIQUE-ID-0001' },
        { tag: 0xa431, type: 2, value: SECRET.body },
        { tag: 0xa435, type: 2, value: SECRET.lens },
        { tag: 0xa434, type: 2, value: 'Sgai 35mm' },
      ],
    },
    { name: 'interop', fields: [{ tag: 0x0001, type: 2, value: 'R98' }] },
    {
      name: 'gps', fields: [
        { tag: 0x0001, type: 2, value: 'N' },
        { tag: 0x0002, type: 5, value: GPS_LAT },
        { tag: 0x0003, type: 2, value: 'E' },
        { tag: 0x0004, type: 5, value: GPS_LON },
      ],
    },
    {
      name: 'ifd1', fields: [
        { tag: 0x0103, type: 3, value: [6] },
        { tag: 0x0201, type: 4, to: 'thumb' },
        { tag: 0x0202, type: 4, value: [thumb.length] },
      ],
    },
  ], { thumb });
}

/**
 * Walks a TIFF as a strict reader would and checks the layout the rewriter promises: IFDs and
 * out-of-line values on even offsets, tags ascending, nothing past the end, and every byte either
 * referenced or a zero padding byte (so no removed value can linger unreferenced).
 */
function checkLayout(t: Uint8Array, thumbTags = true): { le: boolean; ifds: Map<string, Map<number, Uint8Array>> } {
  const le = t[0] === 0x49;
  const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  const used = new Uint8Array(t.length);
  const mark = (o: number, n: number) => {
    expect(o + n).toBeLessThanOrEqual(t.length);
    used.fill(1, o, o + n);
  };
  mark(0, 8);
  const sizes = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8];
  const ifds = new Map<string, Map<number, Uint8Array>>();
  const walk = (name: string, at: number): number => {
    expect(at % 2, `${name} offset`).toBe(0);
    const n = dv.getUint16(at, le);
    mark(at, 2 + n * 12 + 4);
    const fields = new Map<number, Uint8Array>();
    let last = -1;
    for (let i = 0; i < n; i++) {
      const p = at + 2 + i * 12;
      const tag = dv.getUint16(p, le);
      expect(tag).toBeGreaterThan(last);
      last = tag;
      const len = sizes[dv.getUint16(p + 2, le)] * dv.getUint32(p + 4, le);
      if (len > 4) {
        const off = dv.getUint32(p + 8, le);
        expect(off % 2, `value of 0x${tag.toString(16)}`).toBe(0);
        mark(off, len);
        fields.set(tag, t.slice(off, off + len));
      } else {
        // Inline: unused bytes of the field are zero.
        for (let k = len; k < 4; k++) expect(t[p + 8 + k]).toBe(0);
        fields.set(tag, t.slice(p + 8, p + 8 + len));
      }
    }
    ifds.set(name, fields);
    return dv.getUint32(at + 2 + n * 12, le);
  };
  const ptr = (f: Map<number, Uint8Array>, tag: number) => new DataView(f.get(tag)!.buffer).getUint32(0, le);
  const next = walk('ifd0', dv.getUint32(4, le));
  const ifd0 = ifds.get('ifd0')!;
  if (ifd0.has(0x8769)) {
    walk('exif', ptr(ifd0, 0x8769));
    const exif = ifds.get('exif')!;
    if (exif.has(0xa005)) walk('interop', ptr(exif, 0xa005));
  }
  if (ifd0.has(0x8825)) walk('gps', ptr(ifd0, 0x8825));
  if (next) {
    walk('ifd1', next);
    const ifd1 = ifds.get('ifd1')!;
    if (thumbTags && ifd1.has(0x0201)) mark(ptr(ifd1, 0x0201), ptr(ifd1, 0x0202));
  }
  for (let i = 0; i < t.length; i++) {
    if (!used[i]) {
      expect(t[i], `unreferenced byte ${i}`).toBe(0);
      expect(used[i - 1], `unreferenced run at ${i}`).toBe(1); // one padding byte at most
    }
  }
  return { le, ifds };
}

function expectNoSecrets(b: Uint8Array, le: boolean): void {
  for (const s of Object.values(SECRET)) expect(contains(b, enc(s)), s).toBe(false);
  expect(contains(b, u32s(le, GPS_LAT)), 'GPS latitude').toBe(false);
  expect(contains(b, u32s(le, GPS_LON)), 'GPS longitude').toBe(false);
}

describe('EXIF rewriter', () => {
  let thumb: Uint8Array;
  beforeAll(async () => {
    thumb = await plainThumbnail();
  });

  for (const le of [false, true]) {
    const order = le ? 'little-endian (II)' : 'big-endian (MM)';

    it(`no-location, ${order}: GPS, serials and MakerNote gone, everything else and the thumbnail kept`, async () => {
      const src = cameraTiff(le, thumb);
      // The test data holds what the policy must remove (so the searches below can fail).
      expect(contains(src, enc(SECRET.makerNote)) && contains(src, u32s(le, GPS_LAT))).toBe(true);
      const out = rewriteExif(src, 'no-location')!;
      expect(out[0]).toBe(src[0]); // byte order kept
      const { ifds } = checkLayout(out);
      expectNoSecrets(out, le);
      expect([...ifds.keys()].sort()).toEqual(['exif', 'ifd0', 'ifd1', 'interop']);
      expect([...ifds.get('ifd0')!.keys()]).toEqual([0x010f, 0x0110, 0x0112, 0x013b, 0x8298, 0x8769]);
      expect([...ifds.get('exif')!.keys()]).toEqual([0x9003, 0xa005, 0xa420, 0xa434]);

      const tags = await exifr.parse(Buffer.from(out), { tiff: true, exif: true, gps: true, interop: true, ifd1: true, mergeOutput: false, translateValues: false });
      expect(tags.ifd0).toMatchObject({ Make: 'SgaiCam', Model: 'Field 7', Orientation: 6, Artist: 'Ann Example', Copyright: '(c) 2024 Ann Example' });
      expect(tags.exif).toMatchObject({ ImageUniqueID: 'UNIQUE-ID-0001', LensModel: 'Sgai 35mm' });
      expect(new Date(tags.exif.DateTimeOriginal).getFullYear()).toBe(2024);
      expect(tags.interop.InteropIndex).toBe('R98');
      expect(tags.gps).toBeUndefined();
      const thumbOut = await exifr.thumbnail(Buffer.from(out));
      expect(Buffer.compare(Buffer.from(thumbOut!), Buffer.from(thumb))).toBe(0);
    });

    it(`copyright, ${order}: Copyright, Artist and Orientation only, no thumbnail`, async () => {
      const out = rewriteExif(cameraTiff(le, thumb), 'copyright')!;
      const { ifds } = checkLayout(out);
      expectNoSecrets(out, le);
      expect(contains(out, enc('SgaiCam')) || contains(out, thumb.subarray(0, 64))).toBe(false);
      expect([...ifds.keys()]).toEqual(['ifd0']);
      expect([...ifds.get('ifd0')!.keys()]).toEqual([0x0112, 0x013b, 0x8298]);
      const tags = await exifr.parse(Buffer.from(out), { tiff: true, exif: true, gps: true, ifd1: true, translateValues: false });
      expect(tags).toEqual({ Orientation: 6, Artist: 'Ann Example', Copyright: '(c) 2024 Ann Example' });
    });
  }

  it('a thumbnail that carries its own EXIF is left out under no-location; copyright without rights tags leaves no EXIF', async () => {
    const tagged = await sharp(thumb).withExif({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '52/1 31/1 1200/100' } }).jpeg().toBuffer();
    const out = rewriteExif(cameraTiff(false, new Uint8Array(tagged)), 'no-location')!;
    const { ifds } = checkLayout(out);
    expect(ifds.has('ifd1')).toBe(false);
    expect(contains(out, new Uint8Array(tagged).subarray(0, 32))).toBe(false);

    const noRights = buildTiff(true, [{ name: 'ifd0', fields: [{ tag: 0x010f, type: 2, value: 'SgaiCam' }, { tag: 0x0112, type: 3, value: [1] }] }]);
    expect(rewriteExif(noRights, 'copyright')).toBeUndefined();
    expect(applyMetadataPolicy({ exif: noRights }, 'no-location').exif).toBeDefined();
  });

  it('malformed EXIF is kept as it is under all and dropped under the stricter policies', () => {
    const good = cameraTiff(true, new Uint8Array([0xff, 0xd8, 0xff, 0xda]));
    const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const field = (entry: number) => 8 + 2 + entry * 12 + 8; // value field of an IFD0 entry
    const edited = (edit: (b: Uint8Array) => void) => {
      const b = good.slice();
      edit(b);
      return b;
    };
    // What breaks the structure or a value both policies keep: dropped by both.
    const broken: Record<string, Uint8Array> = {
      'too short': good.slice(0, 6),
      'no byte-order mark': Uint8Array.from([0x58, 0x58, 42, 0, 8, 0, 0, 0, 0, 0]),
      'not TIFF': edited((b) => dv(b).setUint16(2, 43, true)),
      'IFD0 past the end': edited((b) => dv(b).setUint32(4, b.length + 100, true)),
      'IFD0 entries past the end': good.slice(0, 60),
      'truncated values': good.slice(0, 140),
      'Copyright pointing past the end': edited((b) => dv(b).setUint32(field(4), 0x7fff0000, true)),
      'an unknown field type on Copyright': edited((b) => dv(b).setUint16(field(4) - 6, 99, true)),
    };
    for (const [why, b] of Object.entries(broken)) {
      expect(applyMetadataPolicy({ exif: b }, 'all').exif, why).toBe(b);
      expect(applyMetadataPolicy({ exif: b }, 'no-location').exif, why).toBeUndefined();
      expect(applyMetadataPolicy({ exif: b }, 'copyright').exif, why).toBeUndefined();
    }
    // Damage in what only no-location keeps: copyright never reads it and keeps its three tags.
    const beyondCopyright: Record<string, Uint8Array> = {
      'an Exif IFD pointing back at IFD0': edited((b) => dv(b).setUint32(field(5), 8, true)),
      'Make pointing past the end': edited((b) => dv(b).setUint32(field(0), 0x7fff0000, true)),
      'an Exif IFD past the end': edited((b) => dv(b).setUint32(field(5), b.length - 4, true)),
    };
    for (const [why, b] of Object.entries(beyondCopyright)) {
      expect(applyMetadataPolicy({ exif: b }, 'no-location').exif, why).toBeUndefined();
      const c = applyMetadataPolicy({ exif: b }, 'copyright').exif!;
      expect(checkLayout(c).ifds.get('ifd0')!.size, why).toBe(3);
    }
    // A broken thumbnail costs the thumbnail only.
    const badThumb = edited((b) => {
      const ifd1 = dv(b).getUint32(8 + 2 + 8 * 12, true);
      dv(b).setUint32(ifd1 + 2 + 2 * 12 + 8, 0x7fff0000, true); // JPEGInterchangeFormatLength
    });
    const kept = checkLayout(rewriteExif(badThumb, 'no-location')!).ifds;
    expect([...kept.keys()].sort()).toEqual(['exif', 'ifd0', 'interop']);
  });
});

// ---- XMP ------------------------------------------------------------------------------------

const XMP = `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="SgaiTest 1.0">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:ps="http://ns.adobe.com/photoshop/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/"
    xmlns:aux="http://ns.adobe.com/exif/1.0/aux/"
    xmlns:exifEX="http://cipa.jp/exif/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    exif:GPSLatitude="52,31.2N" exif:GPSLongitude='13,24.6E' ps:City="Berlin-Mitte"
    aux:SerialNumber="XMP-BODY-SN-1" xmpRights:Marked="True" ps:Credit="Ann Example Studio"
    xmp:CreatorTool="SgaiEdit 2" exif:ExposureTime="1/250">
   <!-- shot near the old gasworks -->
   <ps:State>Berlin-State</ps:State>
   <ps:Country>Germany-Country</ps:Country>
   <Iptc4xmpCore:Location>Gasworks-Sublocation</Iptc4xmpCore:Location>
   <Iptc4xmpCore:CountryCode>DEU-Code</Iptc4xmpCore:CountryCode>
   <exifEX:BodySerialNumber>XMP-BODY-SN-2</exifEX:BodySerialNumber>
   <exifEX:LensSerialNumber>XMP-LENS-SN-3</exifEX:LensSerialNumber>
   <aux:LensSerialNumber>XMP-LENS-SN-4</aux:LensSerialNumber>
   <exif:GPSAltitude>34/1</exif:GPSAltitude>
   <Iptc4xmpExt:LocationShown>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource">
      <Iptc4xmpExt:City>Kreuzberg-Shown</Iptc4xmpExt:City>
     </rdf:li>
    </rdf:Bag>
   </Iptc4xmpExt:LocationShown>
   <Iptc4xmpExt:LocationCreated Iptc4xmpExt:City="Neukoelln-Created"/>
   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) 2024 Ann Example</rdf:li></rdf:Alt></dc:rights>
   <dc:creator><rdf:Seq><rdf:li>Ann Example</rdf:li></rdf:Seq></dc:creator>
   <dc:subject><rdf:Bag><rdf:li>holiday-keyword</rdf:li></rdf:Bag></dc:subject>
   <xmpRights:UsageTerms><rdf:Alt><rdf:li xml:lang="x-default">Ask first</rdf:li></rdf:Alt></xmpRights:UsageTerms>
   <ps:Source>Ann's archive</ps:Source>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`;

const XMP_LOCATION = ['52,31.2N', '13,24.6E', 'Berlin-Mitte', 'Berlin-State', 'Germany-Country', 'Gasworks', 'DEU-Code', 'Kreuzberg-Shown', 'Neukoelln-Created', '34/1'];
const XMP_SERIALS = ['XMP-BODY-SN-1', 'XMP-BODY-SN-2', 'XMP-LENS-SN-3', 'XMP-LENS-SN-4'];
const XMP_RIGHTS = ['(c) 2024 Ann Example', '<rdf:li>Ann Example</rdf:li>', 'xmpRights:Marked="True"', 'Ann Example Studio', 'Ask first', "Ann's archive"];
const XMP_OTHER = ['holiday-keyword', 'SgaiEdit 2', '1/250'];

/** A strict XML parse of the result: sharp/libvips reads the packet back (and exifr parses it). */
async function parsedXmp(xmp: Uint8Array): Promise<Record<string, unknown>> {
  const jpg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } }).withXmp(text(xmp)).jpeg().toBuffer();
  return (await exifr.parse(jpg, { xmp: true, tiff: false, mergeOutput: false })) as Record<string, unknown>;
}

describe('XMP filter', () => {
  it('no-location removes GPS, places and serial numbers in attribute and element form, nothing else', async () => {
    const out = rewriteXmp(enc(XMP), 'no-location')!;
    const s = text(out);
    for (const v of [...XMP_LOCATION, ...XMP_SERIALS]) expect(s, v).not.toContain(v);
    for (const v of [...XMP_RIGHTS, ...XMP_OTHER]) expect(s, v).toContain(v);
    expect(s.startsWith('<?xpacket begin="\uFEFF"')).toBe(true);
    const x = await parsedXmp(out);
    expect(x.xmp).toMatchObject({ CreatorTool: 'SgaiEdit 2' });
    expect(x.ps).toMatchObject({ Credit: 'Ann Example Studio' });
    expect(JSON.stringify(x)).not.toMatch(/GPS|City|Serial/i);
  });

  it('copyright keeps dc:rights, dc:creator, xmpRights:*, photoshop:Credit and Source only', async () => {
    const out = rewriteXmp(enc(XMP), 'copyright')!;
    const s = text(out);
    for (const v of [...XMP_LOCATION, ...XMP_SERIALS, ...XMP_OTHER, 'shot near', 'SgaiTest 1.0']) expect(s, v).not.toContain(v);
    for (const v of XMP_RIGHTS) expect(s, v).toContain(v);
    const x = await parsedXmp(out);
    expect(Object.keys(x).sort()).toEqual(['dc', 'ps', 'xmpRights']);
  });

  it('leaves a packet with nothing to remove byte for byte, and drops one with nothing left', () => {
    const packet = (props: string) => enc(`<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" ${props}
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`);
    const clean = packet('xmp:CreatorTool="SgaiEdit 2">\n <dc:subject><rdf:Bag><rdf:li>holiday</rdf:li></rdf:Bag></dc:subject>');
    expect(rewriteXmp(clean, 'no-location')).toBe(clean);
    expect(rewriteXmp(clean, 'copyright')).toBeUndefined();
    expect(rewriteXmp(packet('exif:GPSLatitude="1,2N">\n <exif:GPSLongitude>3,4E</exif:GPSLongitude>'), 'no-location')).toBeUndefined();
  });

  it('unparseable XMP is kept under all and dropped under the stricter policies', () => {
    const broken = {
      'an unclosed element': XMP.replace('</dc:subject>', ''),
      'a mismatched end tag': XMP.replace('</ps:State>', '</ps:Country>'),
      'an undeclared prefix': XMP.replace('<ps:State>Berlin-State</ps:State>', '<geo:Where>Berlin-State</geo:Where>'),
      'a DOCTYPE': `<!DOCTYPE x [<!ENTITY e "52,31.2N">]>${XMP}`,
      'an unquoted attribute': XMP.replace('xmpRights:Marked="True"', 'xmpRights:Marked=True'),
      'text after the root': `${XMP}<exif:GPSLatitude>`,
    };
    for (const [why, s] of Object.entries(broken)) {
      const b = enc(s);
      expect(applyMetadataPolicy({ xmp: b }, 'all').xmp, why).toBe(b);
      expect(applyMetadataPolicy({ xmp: b }, 'no-location').xmp, why).toBeUndefined();
      expect(applyMetadataPolicy({ xmp: b }, 'copyright').xmp, why).toBeUndefined();
    }
    const notUtf8 = Uint8Array.from([...enc('<x:xmpmeta xmlns:x="adobe:ns:meta/">'), 0xff, 0xfe, ...enc('</x:xmpmeta>')]);
    expect(applyMetadataPolicy({ xmp: notUtf8 }, 'no-location').xmp).toBeUndefined();
  });
});

// ---- real photos through the codec -----------------------------------------------------------

const PHOTO_SECRETS = ['BODY-SN-4711', 'LENS-SN-0815', 'Berlin-Mitte', 'Kreuzberg-Shown', '52,31.2N', 'XMP-BODY-SN-1'];
/** GPSLatitude as sharp writes it: little-endian rationals 52/1 31/1 1200/100. */
const PHOTO_GPS = u32s(true, GPS_LAT);

async function cameraJpeg(path: string): Promise<void> {
  const w = 160;
  const h = 112;
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + (i >> 7) * 11) % 256;
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .withIccProfile('p3')
    .withExif({
      IFD0: { Copyright: '(c) 2024 Ann Example', Artist: 'Ann Example', Make: 'SgaiCam', Model: 'Field 7' },
      IFD2: { BodySerialNumber: 'BODY-SN-4711', LensSerialNumber: 'LENS-SN-0815', DateTimeOriginal: '2024:06:21 18:42:07' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '52/1 31/1 1200/100', GPSLongitudeRef: 'E', GPSLongitude: '13/1 24/1 3600/100' },
    })
    .withXmp(XMP)
    .jpeg({ quality: 95 })
    .toFile(path);
}

function expectSecrets(b: Uint8Array, present: boolean, what: string): void {
  for (const s of PHOTO_SECRETS) expect(contains(b, enc(s)), `${what}: ${s}`).toBe(present);
  expect(contains(b, PHOTO_GPS), `${what}: GPS rationals`).toBe(present);
}

const TAG_OPTIONS = { tiff: true, exif: true, gps: true, interop: true, ifd1: true, xmp: false, icc: false, iptc: false, jfif: false, ihdr: false, translateValues: false } as const;

/** What a photographer sees in an exported file, checked per policy. */
async function expectExported(file: Uint8Array, policy: MetadataPolicy, what: string, srcDate: Date): Promise<void> {
  const tags = ((await exifr.parse(Buffer.from(file), TAG_OPTIONS)) ?? {}) as Record<string, unknown>;
  const xmp = (await sharp(file).metadata()).xmp?.toString('utf8') ?? '';
  if (policy === 'copyright') {
    expect(tags, what).toEqual({ Orientation: 1, Artist: 'Ann Example', Copyright: '(c) 2024 Ann Example' });
    expect(xmp, what).toContain('(c) 2024 Ann Example');
    expect(xmp, what).not.toContain('holiday-keyword');
  } else {
    expect(tags, what).toMatchObject({ Make: 'SgaiCam', Model: 'Field 7', Artist: 'Ann Example', Copyright: '(c) 2024 Ann Example' });
    expect(new Date(tags.DateTimeOriginal as string).getTime(), what).toBe(srcDate.getTime());
    expect(xmp, what).toContain('holiday-keyword');
    const removed = ['latitude', 'longitude', 'GPSLatitude', 'BodySerialNumber', 'SerialNumber', 'LensSerialNumber'];
    if (policy === 'all') {
      expect(tags.latitude as number, what).toBeCloseTo(52 + 31 / 60 + 12 / 3600, 6);
      expect(Object.values(tags), what).toEqual(expect.arrayContaining(['BODY-SN-4711', 'LENS-SN-0815']));
      expect(xmp, what).toContain('Berlin-Mitte');
    } else {
      for (const k of removed) expect(tags[k], `${what}: ${k}`).toBeUndefined();
      expect(xmp, what).not.toContain('Berlin-Mitte');
    }
  }
  // Colour is not personal data: the profile travels under every policy.
  expect((await sharp(file).metadata()).icc, what).toBeDefined();
}

describe('real photos, real codec', () => {
  let dir: string;
  let photo: string;
  let model: LoadedModel;
  let srcDate: Date;
  beforeAll(async () => {
    await initBackend('wasm');
    model = loadModelFromPath(TEST_MODEL_PATH);
    dir = tempDir('sgai-metadata-policy-');
    photo = join(dir, 'IMG_0001.jpg');
    await cameraJpeg(photo);
    expectSecrets(readFileSync(photo), true, 'the source photo');
    srcDate = new Date((await exifr.parse(photo)).DateTimeOriginal);
    expect(srcDate.getUTCFullYear()).toBe(2024);
  });

  it('readImage refuses an unknown policy', async () => {
    const e = await readImage(photo, { metadata: 'none' as MetadataPolicy }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SgaiError);
    expect((e as SgaiError).code).toBe('INVALID_ARGUMENT');
  });

  for (const policy of METADATA_POLICIES) {
    it(`${policy}: the .sgai and the PNG/JPEG decoded from it`, async () => {
      const r = await encodeFile(photo, { model, preview: true, read: { metadata: policy } });
      expectSecrets(r.bytes, policy === 'all', `${policy} .sgai`);
      const d = await decode(r.bytes, { model });
      for (const format of ['jpeg', 'png'] as const) {
        const out = await encodeImage(d.image, { format, icc: d.file.icc, exif: d.file.exif, xmp: d.file.xmp });
        expectSecrets(out, policy === 'all', `${policy} ${format}`);
        await expectExported(out, policy, `${policy} ${format}`, srcDate);
      }
    });
  }

  it('malformed EXIF in a real JPEG is dropped under no-location, kept under all', async () => {
    const jpg = new Uint8Array(readFileSync(photo));
    const bad = Uint8Array.from([0x49, 0x49, 0x2a, 0, 0x00, 0x10, 0, 0, ...enc('BODY-SN-4711')]);
    const { data } = spliceJpeg(jpg, { exif: bad });
    expect((await readImage(data, { metadata: 'all' })).meta.exif).toEqual(bad);
    expect((await readImage(data, { metadata: 'no-location' })).meta.exif).toBeUndefined();
  });

  it('the batch settings key changes with the policy; --metadata all keeps the key of no option', () => {
    const read = (metadata?: MetadataPolicy) => ({ maxPixels: undefined, alpha: 'refuse' as const, frames: 'refuse' as const, metadata });
    const keys = METADATA_POLICIES.map((p) => settingsKey({ model, read: read(metadataOption({ metadata: p })) }));
    expect(new Set(keys).size).toBe(3);
    // A batch begun before --metadata existed (or without it) resumes under --metadata all.
    expect(settingsKey({ model, read: read(metadataOption({})) })).toBe(keys[0]);
    expect(() => metadataOption({ metadata: 'gps-only' })).toThrow(/--metadata must be all, no-location, copyright/);
  });

  it('an encoder process applies the policy (batch with one worker)', async () => {
    const out = join(dir, 'batch-out');
    const plan = await planBatch({ inputs: [photo], outRoot: out, preset: TEST_MODEL_ID });
    const summary = await runBatch(plan, { settings: { model, read: { metadata: 'copyright' } }, workers: 1, backend: 'wasm' });
    expect(summary.done).toBe(1);
    const written = listFiles(out).filter((f) => f.endsWith('.sgai'));
    expect(written).toHaveLength(1);
    const sgai = readFileSync(join(out, written[0]));
    expectSecrets(sgai, false, 'batch .sgai');
    expect(contains(sgai, enc('(c) 2024 Ann Example'))).toBe(true);
  });

  it('sgai encode --metadata no-location, sgai batch --metadata copyright, and the option refused where it does not apply', async () => {
    const sgai = join(dir, 'cli.sgai');
    const e = await runCli(['encode', photo, '-o', sgai, '--model', TEST_MODEL_ID, '--metadata', 'no-location', '--quiet']);
    expect(e.code, e.stderr).toBe(0);
    expectSecrets(readFileSync(sgai), false, 'CLI .sgai');
    const exported = join(dir, 'cli.jpg');
    const d = await runCli(['decode', sgai, '-o', exported, '--quiet']);
    expect(d.code, d.stderr).toBe(0);
    await expectExported(readFileSync(exported), 'no-location', 'CLI jpeg', srcDate);

    const out = join(dir, 'cli-batch');
    const b = await runCli(['batch', photo, '--out', out, '--model', TEST_MODEL_ID, '--metadata', 'copyright', '--workers', '0', '--quiet']);
    expect(b.code, b.stderr).toBe(0);
    const batchSgai = readFileSync(join(out, listFiles(out).find((f) => f.endsWith('.sgai'))!));
    expectSecrets(batchSgai, false, 'CLI batch .sgai');
    expect(contains(batchSgai, enc('SgaiCam'))).toBe(false); // Make: kept by no-location, not by copyright
    expect(contains(batchSgai, enc('(c) 2024 Ann Example'))).toBe(true);

    const bad = await runCli(['encode', photo, '-o', join(dir, 'x.sgai'), '--metadata', 'gps-only']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--metadata must be all, no-location, copyright/);
    const wrong = await runCli(['decode', sgai, '-o', join(dir, 'y.png'), '--metadata', 'all']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--metadata does not apply to "sgai decode"/);
  });
});
