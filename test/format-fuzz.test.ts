/**
 * Robustness: whatever bytes arrive, the reader must answer with a typed SgaiError or a valid
 * file, quickly, and never crash or hang. Seeded, so any failure reproduces.
 */
import { describe, expect, it } from 'vitest';
import { SgaiError, type SgaiErrorCode } from '../src/core/errors';
import { decodeSgai, encodeSgai, listChunks, sizeBreakdown, type SgaiFile } from '../src/core/format';
import { ChunkWriter, iterateChunks } from '../src/core/format/chunks';
import { inspectSgai } from '../src/core/format/inspect';
import { mulberry32 as rng } from './seeded-random';

function randomBytes(r: () => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => (r() * 256) | 0);
}

/** Several tiles plus every optional chunk, kept small so the whole suite stays fast. */
function sampleFile(): SgaiFile {
  const r = rng(1);
  return {
    header: {
      modelId: 'mbt2018-mean-q4',
      weightsSha256: randomBytes(r, 32),
      width: 300,
      height: 130,
      tileSize: 128, // 3 x 2 tiles
      channelsN: 128,
      channelsM: 192,
      sourceBitDepth: 16,
      hadAlpha: true,
      originalOrientation: 6,
    },
    zStream: randomBytes(r, 64),
    yStreams: Array.from({ length: 6 }, (_, i) => randomBytes(r, 40 + 11 * i)),
    icc: randomBytes(r, 120),
    exif: Uint8Array.of(0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8, ...randomBytes(r, 40)),
    xmp: new TextEncoder().encode('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'),
    refine: { method: 'sga+', lambda: 0.0067, iterations: 500, tau: 0.5 },
    preview: { width: 64, height: 28, mime: 'image/webp', data: randomBytes(r, 150) },
  };
}

const DECODE_CODES = new Set<SgaiErrorCode>(['TRUNCATED', 'BAD_MAGIC', 'UNSUPPORTED_VERSION', 'CHECKSUM', 'CORRUPT', 'UNKNOWN_REQUIRED_CHUNK']);
const MAX_CASE_MS = 250; // a hang or quadratic blow-up, not scheduler noise

const good = encodeSgai(sampleFile());
const goodChunks = Array.from(iterateChunks(good), (c) => ({ type: c.type, offset: c.offset, payload: c.payload.slice() }));

type Outcome = { ok: true } | { ok: false; code: SgaiErrorCode };
let probes = 0;

/** Runs every public reader on `bytes` and checks the contract; returns decodeSgai's outcome. */
function probe(bytes: Uint8Array, what: string): Outcome {
  const t0 = performance.now();
  let outcome: Outcome;
  try {
    const f = decodeSgai(bytes);
    // Anything accepted must be a file the writer could have produced.
    const again = decodeSgai(encodeSgai(f));
    expect(again.header, what).toEqual(f.header);
    expect(again.yStreams.length, what).toBe(f.yStreams.length);
    outcome = { ok: true };
  } catch (e) {
    if (!(e instanceof SgaiError)) throw new Error(`${what}: decodeSgai threw ${String(e)}`, { cause: e });
    if (!DECODE_CODES.has(e.code)) throw new Error(`${what}: unexpected code ${e.code}: ${e.message}`);
    expect(e.message.length, what).toBeGreaterThan(0);
    outcome = { ok: false, code: e.code };
  }
  // On every third case (to keep CI fast; bench/fuzz.ts does them all) the salvage parse and
  // the inspector face the same bytes: typed errors only, and the inspector never throws.
  if (probes++ % 3 === 0) {
    try {
      decodeSgai(bytes, { salvage: true });
    } catch (e) {
      if (!(e instanceof SgaiError)) throw new Error(`${what}: salvage decodeSgai threw ${String(e)}`, { cause: e });
    }
    const info = inspectSgai(bytes);
    expect(info.decodable === 'yes', what).toBe(outcome.ok);
  }
  try {
    const b = sizeBreakdown(bytes);
    expect(Object.values(b).reduce((s, v) => s + v, 0), what).toBe(bytes.length);
    listChunks(bytes);
  } catch (e) {
    if (!(e instanceof SgaiError)) throw new Error(`${what}: listChunks/sizeBreakdown threw ${String(e)}`, { cause: e });
  }
  const ms = performance.now() - t0;
  if (ms > MAX_CASE_MS) throw new Error(`${what}: took ${ms.toFixed(1)} ms`);
  return outcome;
}

describe('truncation', () => {
  it('every proper prefix of a file is reported as truncated', () => {
    expect(good.length).toBeGreaterThan(1000);
    expect(decodeSgai(good).yStreams).toHaveLength(6);
    for (let n = 0; n < good.length; n++) {
      const out = probe(good.subarray(0, n), `prefix ${n}`);
      if (out.ok || out.code !== 'TRUNCATED') throw new Error(`prefix of ${n} bytes gave ${out.ok ? 'a valid file' : out.code}`);
    }
  });
});

/** Byte-level damage on the finished file: exercises framing and CRC. */
function mutateRaw(r: () => number, src: Uint8Array): Uint8Array {
  let b = src.slice();
  const rounds = 1 + ((r() * 3) | 0);
  const pos = (n: number): number => (r() * n) | 0;
  for (let k = 0; k < rounds; k++) {
    switch ((r() * 6) | 0) {
      case 0: // overwrite a byte
        if (b.length) b[pos(b.length)] = (r() * 256) | 0;
        break;
      case 1: // flip a bit
        if (b.length) b[pos(b.length)] ^= 1 << pos(8);
        break;
      case 2: {
        // insert bytes
        const at = pos(b.length + 1);
        const ins = randomBytes(r, 1 + pos(8));
        const nb = new Uint8Array(b.length + ins.length);
        nb.set(b.subarray(0, at));
        nb.set(ins, at);
        nb.set(b.subarray(at), at + ins.length);
        b = nb;
        break;
      }
      case 3: {
        // delete bytes
        const at = pos(b.length);
        const n = Math.min(1 + pos(8), b.length - at);
        const nb = new Uint8Array(b.length - n);
        nb.set(b.subarray(0, at));
        nb.set(b.subarray(at + n), at);
        b = nb;
        break;
      }
      case 4: {
        // overwrite a length field with something plausible or absurd
        const c = goodChunks[pos(goodChunks.length)];
        const o = c.offset + 4;
        if (o + 4 > b.length) break;
        const cur = b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
        const choices = [0, 0xffffffff, 0x7fffffff, cur + 1, cur - 1, cur + pos(64) - 32, (r() * 2 ** 32) >>> 0, b.length];
        const v = choices[pos(choices.length)] >>> 0;
        b[o] = v & 0xff;
        b[o + 1] = (v >>> 8) & 0xff;
        b[o + 2] = (v >>> 16) & 0xff;
        b[o + 3] = (v >>> 24) & 0xff;
        break;
      }
      default: // damage the signature/version area, where checks are not CRC-protected
        b[pos(Math.min(10, b.length))] = (r() * 256) | 0;
    }
  }
  return b;
}

/**
 * Damage that keeps every CRC valid (as a buggy or hostile writer would): exercises the
 * semantic checks that CRC failures would otherwise hide.
 */
function mutateStructured(r: () => number): Uint8Array {
  const chunks = goodChunks.map((c) => ({ type: c.type, payload: c.payload.slice() }));
  const pos = (n: number): number => (r() * n) | 0;
  const rounds = 1 + pos(2);
  for (let k = 0; k < rounds; k++) {
    const i = pos(chunks.length);
    const c = chunks[i];
    switch (pos(9)) {
      case 0:
        if (c.payload.length) c.payload[pos(c.payload.length)] = pos(256);
        break;
      case 1:
        if (c.payload.length) c.payload[pos(c.payload.length)] ^= 1 << pos(8);
        break;
      case 2:
        c.payload = c.payload.subarray(0, pos(c.payload.length + 1));
        break;
      case 3: {
        const p = new Uint8Array(c.payload.length + 1 + pos(8));
        p.set(c.payload);
        p.set(randomBytes(r, p.length - c.payload.length), c.payload.length);
        c.payload = p;
        break;
      }
      case 4:
        chunks.splice(i, 1);
        break;
      case 5:
        chunks.splice(pos(chunks.length + 1), 0, { type: c.type, payload: c.payload.slice() });
        break;
      case 6: {
        const j = pos(chunks.length);
        [chunks[i], chunks[j]] = [chunks[j], chunks[i]];
        break;
      }
      case 7: {
        // flip the required/optional case of the type, or rename it
        const t = c.type;
        c.type = r() < 0.5 ? (t[0] === t[0].toUpperCase() ? t[0].toLowerCase() : t[0].toUpperCase()) + t.slice(1) : ['QQQQ', 'qqqq', 'HEAD', 'YTIL', 'prev', 'refn'][pos(6)];
        break;
      }
      default: {
        // small header fields are where most semantic checks live
        const h = chunks.find((x) => x.type === 'HEAD');
        if (h && h.payload.length) h.payload[pos(h.payload.length)] = [0, 1, 0xff, 0x40, 8, 16, 9][pos(7)];
      }
    }
  }
  const w = new ChunkWriter();
  for (const c of chunks) w.add(c.type, c.payload);
  return w.finish(1, r() < 0.9 ? 0 : pos(256));
}

describe('random mutations', () => {
  it('12,000 seeded mutations all end in a typed error or a valid file', () => {
    const r = rng(0x5ca1ab1e);
    const seen = new Map<string, number>();
    for (let i = 0; i < 12_000; i++) {
      const structured = i % 2 === 1;
      const bytes = structured ? mutateStructured(r) : mutateRaw(r, good);
      const out = probe(bytes, `case ${i} (${structured ? 'structured' : 'raw'})`);
      const key = `${structured ? 's' : 'r'}:${out.ok ? 'ok' : out.code}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const summary = Object.fromEntries([...seen].sort());
    // Each family of error must actually have been reached, or the fuzzer is not probing deep enough.
    for (const k of ['r:CHECKSUM', 'r:TRUNCATED', 'r:CORRUPT', 'r:BAD_MAGIC', 'r:UNSUPPORTED_VERSION', 's:CORRUPT', 's:UNKNOWN_REQUIRED_CHUNK', 's:TRUNCATED']) {
      expect(seen.get(k), `${k} in ${JSON.stringify(summary)}`).toBeGreaterThan(0);
    }
    // Throughput is bench:fuzz's job; a timed assertion here failed whenever the machine was busy.
  });
});
