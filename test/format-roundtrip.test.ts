import { describe, expect, it } from 'vitest';
import { SgaiError, type SgaiErrorCode } from '../src/core/errors';
import {
  crc32,
  decodeSgai,
  encodeSgai,
  listChunks,
  sizeBreakdown,
  tileGrid,
  SGAI_MAJOR,
  SGAI_MINOR,
  SIGNATURE,
  type SgaiFile,
  type SgaiHeader,
} from '../src/core/format';
import { ChunkWriter, iterateChunks } from '../src/core/format/chunks';
import { encodeHead } from '../src/core/format/payloads';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

function filled(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17) & 0xff;
  return b;
}

function header(over: Partial<SgaiHeader> = {}): SgaiHeader {
  return {
    modelId: 'mbt2018-mean-q4',
    weightsSha256: filled(32, 7),
    width: 300, // padded 320 -> 3 tiles of 128
    height: 130, // padded 192 -> 2 tiles of 128
    tileSize: 128,
    channelsN: 128,
    channelsM: 192,
    sourceBitDepth: 8,
    hadAlpha: false,
    originalOrientation: 1,
    ...over,
  };
}

const TIFF = Uint8Array.of(0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00);

function sample(over: Partial<SgaiFile> = {}): SgaiFile {
  return {
    header: header(),
    zStream: filled(40, 1),
    yStreams: Array.from({ length: 6 }, (_, i) => filled(10 + i * 3, i + 2)),
    ...over,
  };
}

/** Rebuilds a file from raw chunks, so tests can craft what the encoder refuses to write. */
function build(chunks: [string, Uint8Array][], major = SGAI_MAJOR, minor = SGAI_MINOR): Uint8Array {
  const w = new ChunkWriter();
  for (const [t, p] of chunks) w.add(t, p);
  return w.finish(major, minor);
}

function raw(bytes: Uint8Array): [string, Uint8Array][] {
  return Array.from(iterateChunks(bytes), (c) => [c.type, c.payload.slice()] as [string, Uint8Array]);
}

function codeOf(f: () => unknown): SgaiErrorCode | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof SgaiError) return e.code;
    throw e;
  }
}

function errorOf(f: () => unknown): SgaiError {
  try {
    f();
  } catch (e) {
    if (e instanceof SgaiError) return e;
    throw e;
  }
  throw new Error('expected an SgaiError');
}

describe('crc32', () => {
  it('matches the standard check values', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(ascii('a'))).toBe(0xe8b7be43);
  });
  it('can be continued over pieces', () => {
    expect(crc32(ascii('56789'), crc32(ascii('1234')))).toBe(0xcbf43926);
  });
});

describe('tileGrid', () => {
  it('pads to 64 and rounds tiles up', () => {
    expect(tileGrid({ width: 1, height: 1, tileSize: 64 })).toEqual({ tilesX: 1, tilesY: 1, paddedWidth: 64, paddedHeight: 64 });
    expect(tileGrid({ width: 4000, height: 3000, tileSize: 512 })).toEqual({ tilesX: 8, tilesY: 6, paddedWidth: 4032, paddedHeight: 3008 });
    expect(tileGrid({ width: 300, height: 130, tileSize: 128 })).toEqual({ tilesX: 3, tilesY: 2, paddedWidth: 320, paddedHeight: 192 });
    expect(tileGrid({ width: 65535, height: 64, tileSize: 8192 })).toEqual({ tilesX: 8, tilesY: 1, paddedWidth: 65536, paddedHeight: 64 });
  });
  it('rejects nonsense', () => {
    expect(codeOf(() => tileGrid({ width: 0, height: 1, tileSize: 64 }))).toBe('INVALID_ARGUMENT');
  });
});

describe('round trip', () => {
  const variants: Record<string, Partial<SgaiFile>> = {
    minimal: {},
    icc: { icc: filled(300, 3) },
    'empty icc': { icc: new Uint8Array(0) },
    exif: { exif: TIFF },
    xmp: { xmp: ascii('<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>') },
    'refine null': { refine: null },
    refine: { refine: { method: 'sga+', lambda: 0.0130, iterations: 2000, lr: 5e-3, schedule: { tau: [0.5, 0.1] } } },
    'preview webp': { preview: { width: 160, height: 69, mime: 'image/webp', data: filled(120, 9) } },
    'preview jpeg': { preview: { width: 1, height: 65535, mime: 'image/jpeg', data: Uint8Array.of(0xff, 0xd8, 0xff) } },
    source: { source: { sha256: 'ab'.repeat(32), bytes: 123_456_789, note: { kept: true } } },
    everything: {
      icc: filled(300, 3),
      exif: TIFF,
      xmp: ascii('<xmp/>'),
      refine: { method: 'sga+', lambda: 1, iterations: 0 },
      preview: { width: 16, height: 7, mime: 'image/jpeg', data: filled(50, 4) },
      source: { sha256: '0'.repeat(64), bytes: 0 },
    },
  };
  for (const [name, extra] of Object.entries(variants)) {
    it(name, () => {
      const file = sample(extra);
      const bytes = encodeSgai(file);
      const back = decodeSgai(bytes);
      expect(back).toEqual({ ...file, unknownChunks: [], skipped: [], damagedTiles: [] });
      expect(Object.keys(back).sort()).toEqual([...Object.keys(file), 'unknownChunks', 'skipped', 'damagedTiles'].sort());
      expect(encodeSgai(back)).toEqual(bytes);
    });
  }

  it('keeps header fields exactly', () => {
    const h = header({ modelId: 'modèle-ü', width: 65535, height: 1, tileSize: 8192, channelsN: 65535, channelsM: 1, sourceBitDepth: 16, hadAlpha: true, originalOrientation: 8 });
    const g = tileGrid(h);
    const file = sample({ header: h, yStreams: Array.from({ length: g.tilesX * g.tilesY }, () => new Uint8Array(0)) });
    expect(decodeSgai(encodeSgai(file)).header).toEqual(h);
  });

  it('lays out signature, version, HEAD first and an empty END last', () => {
    const bytes = encodeSgai(sample());
    expect(Array.from(bytes.subarray(0, 10))).toEqual([0x89, 0x53, 0x47, 0x41, 0x49, 0x0d, 0x0a, 0x1a, 1, 1]);
    expect(Array.from(SIGNATURE)).toEqual(Array.from(bytes.subarray(0, 8)));
    expect(new TextDecoder().decode(bytes.subarray(10, 14))).toBe('HEAD');
    const end = bytes.subarray(bytes.length - 12);
    expect(new TextDecoder().decode(end.subarray(0, 8))).toBe('END \0\0\0\0');
    const { chunks } = listChunks(bytes);
    expect(chunks.map((c) => c.type)).toEqual(['HEAD', 'ZSTR', 'YTIL', 'YTIL', 'YTIL', 'YTIL', 'YTIL', 'YTIL', 'END ']);
    expect(chunks.every((c) => c.crcOk && c.known)).toBe(true);
    // YTIL payload = u32 tile index + stream
    const t3 = chunks[5];
    expect(t3.length).toBe(4 + 19);
    expect(Array.from(bytes.subarray(t3.offset + 8, t3.offset + 12))).toEqual([3, 0, 0, 0]);
  });

  it('returns views into the input rather than copies', () => {
    const bytes = encodeSgai(sample({ icc: filled(10, 1) }));
    const f = decodeSgai(bytes);
    expect(f.zStream.buffer).toBe(bytes.buffer);
    expect(f.yStreams[2].buffer).toBe(bytes.buffer);
    expect(f.icc!.buffer).toBe(bytes.buffer);
  });

  it('accepts a Node Buffer', () => {
    const bytes = Buffer.from(encodeSgai(sample()));
    expect(decodeSgai(bytes).yStreams).toHaveLength(6);
  });
});

describe('sizeBreakdown', () => {
  it('accounts for every byte', () => {
    const file = sample({ icc: filled(100, 1), preview: { width: 2, height: 2, mime: 'image/webp', data: filled(30, 2) } });
    const bytes = encodeSgai(file);
    const b = sizeBreakdown(bytes);
    expect(b.signature).toBe(10);
    expect(b.ZSTR).toBe(40 + 12);
    expect(b.iccp).toBe(100 + 12);
    expect(b.YTIL).toBe(file.yStreams.reduce((s, y) => s + y.length + 4 + 12, 0));
    expect(b['END ']).toBe(12);
    expect(Object.values(b).reduce((s, v) => s + v, 0)).toBe(bytes.length);
  });
  it('reports unparsed bytes of a damaged file', () => {
    const bytes = encodeSgai(sample()).subarray(0, 100);
    const b = sizeBreakdown(bytes);
    expect(b.unparsed).toBeGreaterThan(0);
    expect(Object.values(b).reduce((s, v) => s + v, 0)).toBe(100);
  });
});

describe('forward compatibility', () => {
  it('skips unknown optional chunks and reports them', () => {
    const chunks = raw(encodeSgai(sample()));
    chunks.splice(3, 0, ['abcd', filled(9, 1)]);
    chunks.splice(1, 0, ['xyz ', new Uint8Array(0)], ['abcd', new Uint8Array(3)]);
    const bytes = build(chunks);
    const f = decodeSgai(bytes);
    expect(f.unknownChunks).toEqual(['xyz ', 'abcd']);
    expect(f.yStreams).toHaveLength(6);
    const info = listChunks(bytes).chunks.find((c) => c.type === 'abcd')!;
    expect(info).toMatchObject({ known: false, required: false, crcOk: true, length: 3 });
  });

  it('refuses unknown required chunks', () => {
    const chunks = raw(encodeSgai(sample()));
    chunks.splice(2, 0, ['QNTZ', filled(4, 1)]);
    const e = errorOf(() => decodeSgai(build(chunks)));
    expect(e.code).toBe('UNKNOWN_REQUIRED_CHUNK');
    expect(e.message).toMatch(/QNTZ.*update sgai/);
    expect(listChunks(build(chunks)).chunks[2]).toMatchObject({ type: 'QNTZ', known: false, required: true });
  });

  it('reads a higher minor version, ignoring extended HEAD fields and new flag bits', () => {
    const chunks = raw(encodeSgai(sample()));
    const head = chunks[0][1];
    const longer = new Uint8Array(head.length + 5);
    longer.set(head);
    longer[head.length - 2] |= 0x80; // reserved flag bit
    chunks[0][1] = longer;
    const f = decodeSgai(build(chunks, 1, 3));
    expect(f.header).toEqual(sample().header);
    expect(listChunks(build(chunks, 1, 3)).version).toEqual({ major: 1, minor: 3 });
    // The same extensions in a 1.0 file are damage.
    expect(codeOf(() => decodeSgai(build(chunks, 1, 0)))).toBe('CORRUPT');
  });

  it('a 1.0 file (no source record) still reads, and a damaged source record is corruption that salvage skips', () => {
    const old = build(raw(encodeSgai(sample())), 1, 0);
    expect(decodeSgai(old).source).toBeUndefined();
    const chunks = raw(encodeSgai(sample({ source: { sha256: 'cd'.repeat(32), bytes: 9 } })));
    const at = chunks.findIndex(([t]) => t === 'srci');
    expect(at).toBe(1); // right after HEAD: no preview or refinement record in this sample
    chunks[at][1] = ascii('{"sha256":"cd","bytes":9}');
    const e = errorOf(() => decodeSgai(build(chunks)));
    expect(e.code).toBe('CORRUPT');
    expect(e.message).toMatch(/source record/);
    const salvaged = decodeSgai(build(chunks), { salvage: true });
    expect(salvaged.source).toBeUndefined();
    expect(salvaged.skipped).toEqual([{ chunk: 'srci', reason: expect.stringMatching(/sha256/) }]);
    expect(listChunks(build(chunks)).chunks[at]).toMatchObject({ type: 'srci', known: true, required: false });
  });

  it('refuses other major versions', () => {
    const bytes = encodeSgai(sample());
    const v2 = bytes.slice();
    v2[8] = 2;
    const e = errorOf(() => decodeSgai(v2));
    expect(e.code).toBe('UNSUPPORTED_VERSION');
    expect(e.message).toBe('this file was made by a newer sgai (format 2.1); update sgai to open it');
    expect(codeOf(() => listChunks(v2))).toBe('UNSUPPORTED_VERSION');
    const v0 = bytes.slice();
    v0[8] = 0;
    expect(codeOf(() => decodeSgai(v0))).toBe('UNSUPPORTED_VERSION');
  });
});

describe('rejects damaged or foreign files', () => {
  const good = encodeSgai(sample({ icc: filled(20, 1) }));
  const chunks = () => raw(good);

  it('wrong magic', () => {
    expect(codeOf(() => decodeSgai(ascii('\x89PNG\r\n\x1a\n0000000000000000')))).toBe('BAD_MAGIC');
    expect(codeOf(() => decodeSgai(ascii('hello')))).toBe('BAD_MAGIC');
    const crlf = ascii('\x89SGAI\n\x1a');
    expect(codeOf(() => decodeSgai(crlf))).toBe('BAD_MAGIC');
  });

  it('empty and cut-off signatures are truncation', () => {
    expect(errorOf(() => decodeSgai(new Uint8Array(0))).message).toBe('file is empty');
    expect(codeOf(() => decodeSgai(good.subarray(0, 5)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeSgai(good.subarray(0, 10)))).toBe('TRUNCATED');
  });

  it('says which chunk is cut off', () => {
    const { chunks: list } = listChunks(good);
    const t = list.filter((c) => c.type === 'YTIL')[2];
    const cut = good.subarray(0, t.offset + 20);
    const e = errorOf(() => decodeSgai(cut));
    expect(e.code).toBe('TRUNCATED');
    // The header and z stream come first, so --salvage could decode the tiles before the cut.
    expect(e.message).toBe(`file is truncated (chunk YTIL #3 needs ${t.length + 12} bytes, 20 left); pass --salvage to decode what is intact`);
    const l = listChunks(cut);
    expect(l.error?.code).toBe('TRUNCATED');
    expect(l.chunks.length).toBe(list.indexOf(t));
  });

  it('checksum mismatch names the chunk', () => {
    const { chunks: list } = listChunks(good);
    const z = list.find((c) => c.type === 'ZSTR')!;
    const bad = good.slice();
    bad[z.offset + 8 + 5] ^= 0x10;
    const e = errorOf(() => decodeSgai(bad));
    expect(e.code).toBe('CHECKSUM');
    expect(e.message).toBe('checksum mismatch in chunk ZSTR: the file is damaged');
    const l = listChunks(bad);
    expect(l.error).toBeUndefined();
    expect(l.chunks.filter((c) => !c.crcOk).map((c) => c.type)).toEqual(['ZSTR']);
  });

  it('trailing data after END', () => {
    const bad = new Uint8Array(good.length + 3);
    bad.set(good);
    const e = errorOf(() => decodeSgai(bad));
    expect(e.code).toBe('CORRUPT');
    expect(e.message).toMatch(/trailing data/);
    expect(listChunks(bad).error?.code).toBe('CORRUPT');
  });

  const structural: Record<string, (c: [string, Uint8Array][]) => void> = {
    'chunk before HEAD': (c) => c.unshift(['iccx', new Uint8Array(1)]),
    'second HEAD': (c) => c.splice(1, 0, c[0]),
    'second ZSTR': (c) => c.splice(2, 0, c.find((x) => x[0] === 'ZSTR')!),
    'second iccp': (c) => c.splice(2, 0, c.find((x) => x[0] === 'iccp')!),
    'missing ZSTR': (c) => c.splice(c.findIndex((x) => x[0] === 'ZSTR'), 1),
    'missing tile': (c) => c.splice(c.length - 2, 1),
    'tiles out of order': (c) => {
      const i = c.findIndex((x) => x[0] === 'YTIL');
      [c[i], c[i + 1]] = [c[i + 1], c[i]];
    },
    'extra tile': (c) => {
      const t = new Uint8Array(6);
      t[0] = 6;
      c.splice(c.length - 1, 0, ['YTIL', t]);
    },
    'YTIL without index': (c) => c.splice(c.findIndex((x) => x[0] === 'YTIL'), 1, ['YTIL', new Uint8Array(3)]),
    'END with payload': (c) => (c[c.length - 1] = ['END ', new Uint8Array(1)]),
    'HEAD too short': (c) => (c[0] = ['HEAD', c[0][1].subarray(0, 40)]),
    'width 0': (c) => (c[0][1] = encodeHead(header({ width: 0 }))),
    'width above 65535': (c) => (c[0][1] = encodeHead(header({ width: 70000 }))),
    'tile size not a multiple of 64': (c) => (c[0][1] = encodeHead(header({ tileSize: 100 }))),
    'tile size too big': (c) => (c[0][1] = encodeHead(header({ tileSize: 8256 }))),
    'bit depth 12': (c) => (c[0][1] = encodeHead(header({ sourceBitDepth: 12 as 8 }))),
    'orientation 9': (c) => (c[0][1] = encodeHead(header({ originalOrientation: 9 }))),
    'zero channels': (c) => (c[0][1] = encodeHead(header({ channelsM: 0 }))),
    'empty model id': (c) => (c[0][1] = encodeHead(header({ modelId: '' }))),
    'model id not UTF-8': (c) => {
      const h = encodeHead(header({ modelId: 'ab' }));
      h[1] = 0xc3;
      h[2] = 0x28;
      c[0][1] = h;
    },
    'refn not JSON': (c) => c.splice(1, 0, ['refn', ascii('{method:')]),
    'refn an array': (c) => c.splice(1, 0, ['refn', ascii('[]')]),
    'refn without lambda': (c) => c.splice(1, 0, ['refn', ascii('{"method":"sga+","iterations":3}')]),
    'refn fractional iterations': (c) => c.splice(1, 0, ['refn', ascii('{"method":"sga+","lambda":1,"iterations":2.5}')]),
    'prev with another MIME type': (c) => c.splice(1, 0, ['prev', Uint8Array.of(1, 0, 1, 0, 9, ...ascii('image/png'), 1)]),
    'prev without image bytes': (c) => c.splice(1, 0, ['prev', Uint8Array.of(1, 0, 1, 0, 10, ...ascii('image/jpeg'))]),
    'prev of zero width': (c) => c.splice(1, 0, ['prev', Uint8Array.of(0, 0, 1, 0, 10, ...ascii('image/jpeg'), 1)]),
    'exif with JPEG prefix': (c) => c.splice(1, 0, ['exif', ascii('Exif\0\0II*\0\x08\0\0\0')]),
  };
  for (const [name, mutate] of Object.entries(structural)) {
    it(name, () => {
      const c = chunks();
      mutate(c);
      const e = errorOf(() => decodeSgai(build(c)));
      expect(e.code).toBe('CORRUPT');
      expect(e.message).toMatch(/^the file is damaged: /);
    });
  }

  it('no END is truncation', () => {
    const c = chunks();
    c.pop();
    expect(errorOf(() => decodeSgai(build(c))).message).toMatch(/^file is truncated \(it ends after chunk YTIL #6, before the END chunk\); pass --salvage to decode what is intact$/);
  });

  it('an unreadable chunk type is corruption', () => {
    const bad = good.slice();
    bad[10] = 0x31; // "1EAD"
    expect(codeOf(() => decodeSgai(bad))).toBe('CORRUPT');
    const spaced = good.slice();
    spaced[11] = 0x20; // "H AD": a space may only pad the end
    expect(codeOf(() => decodeSgai(spaced))).toBe('CORRUPT');
  });

  it('a damaged length that overshoots the file is truncation, without allocating', () => {
    const bad = good.slice();
    bad[14] = bad[15] = bad[16] = bad[17] = 0xff;
    expect(errorOf(() => decodeSgai(bad)).message).toMatch(/chunk HEAD needs 4294967307 bytes/);
  });
});

describe('encoder validation', () => {
  const cases: Record<string, () => SgaiFile> = {
    'wrong number of y streams': () => sample({ yStreams: [new Uint8Array(1)] }),
    'short SHA-256': () => sample({ header: header({ weightsSha256: new Uint8Array(31) }) }),
    'width 0': () => sample({ header: header({ width: 0 }) }),
    'width 65536': () => sample({ header: header({ width: 65536 }) }),
    'fractional height': () => sample({ header: header({ height: 10.5 }) }),
    'tile size 96': () => sample({ header: header({ tileSize: 96 }) }),
    'bit depth 10': () => sample({ header: header({ sourceBitDepth: 10 as 8 }) }),
    'orientation 0': () => sample({ header: header({ originalOrientation: 0 }) }),
    'empty model id': () => sample({ header: header({ modelId: '' }) }),
    'model id over 64 bytes': () => sample({ header: header({ modelId: 'é'.repeat(33) }) }),
    'model id with a lone surrogate': () => sample({ header: header({ modelId: 'a\ud800' }) }),
    'hadAlpha not boolean': () => sample({ header: { ...header(), hadAlpha: 1 as unknown as boolean } }),
    'exif with Exif prefix': () => sample({ exif: ascii('Exif\0\0II*\0\x08\0\0\0') }),
    'icc not bytes': () => sample({ icc: [1, 2] as unknown as Uint8Array }),
    'preview MIME': () => sample({ preview: { width: 1, height: 1, mime: 'image/png' as 'image/webp', data: new Uint8Array(1) } }),
    'preview empty': () => sample({ preview: { width: 1, height: 1, mime: 'image/webp', data: new Uint8Array(0) } }),
    'preview too wide': () => sample({ preview: { width: 65536, height: 1, mime: 'image/webp', data: new Uint8Array(1) } }),
    'refine without method': () => sample({ refine: { lambda: 1, iterations: 1 } as never }),
    'refine with NaN lambda': () => sample({ refine: { method: 'x', lambda: NaN, iterations: 1 } }),
    'refine with negative iterations': () => sample({ refine: { method: 'x', lambda: 1, iterations: -1 } }),
    'refine that JSON cannot hold': () => sample({ refine: { method: 'x', lambda: 1, iterations: 1, big: 1n } }),
    'source hash too short': () => sample({ source: { sha256: 'ab'.repeat(31), bytes: 1 } }),
    'source hash in capitals': () => sample({ source: { sha256: 'AB'.repeat(32), bytes: 1 } }),
    'source with fractional bytes': () => sample({ source: { sha256: 'ab'.repeat(32), bytes: 1.5 } }),
    'source that JSON cannot hold': () => sample({ source: { sha256: 'ab'.repeat(32), bytes: 1, big: 1n } }),
    'zStream missing': () => ({ ...sample(), zStream: undefined as unknown as Uint8Array }),
  };
  for (const [name, make] of Object.entries(cases)) {
    it(name, () => {
      const e = errorOf(() => encodeSgai(make()));
      expect(e.code).toBe('INVALID_ARGUMENT');
    });
  }
  it('64-byte model id is fine', () => {
    expect(decodeSgai(encodeSgai(sample({ header: header({ modelId: 'é'.repeat(32) }) }))).header.modelId).toBe('é'.repeat(32));
  });
  it('decode rejects non-bytes', () => {
    expect(codeOf(() => decodeSgai('x' as unknown as Uint8Array))).toBe('INVALID_ARGUMENT');
  });
});
