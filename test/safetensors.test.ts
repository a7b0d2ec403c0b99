import { describe, expect, it } from 'vitest';
import { SgaiError } from '../src/core/errors';
import { expectTensor, parseSafeTensors } from '../src/core/model/safetensors';

function build(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function f32(...v: number[]) {
  return new Uint8Array(Float32Array.from(v).buffer);
}

describe('safetensors reader', () => {
  it('reads F32 and F16 tensors and metadata', () => {
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001]).buffer); // 1, -2, ~0.3333, 2^-24
    const data = new Uint8Array([...f32(1.5, -2, 3), ...f16]);
    const file = parseSafeTensors(build({
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
      b: { dtype: 'F16', shape: [2, 2], data_offsets: [12, 20] },
    }, data));
    expect(Array.from(expectTensor(file, 'a', [3]))).toEqual([1.5, -2, 3]);
    const b = expectTensor(file, 'b', [2, 2]);
    expect(b[0]).toBe(1);
    expect(b[1]).toBe(-2);
    expect(b[2]).toBeCloseTo(0.33325, 5);
    expect(b[3]).toBe(2 ** -24);
    expect(file.metadata.format).toBe('pt');
  });

  const valid = build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32(1, 2));
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', valid.subarray(0, 5), /shorter/],
    ['truncated data', valid.subarray(0, valid.length - 1), /outside the file/],
    ['header length past the end', (() => { const v = valid.slice(); new DataView(v.buffer).setBigUint64(0, 1n << 40n, true); return v; })(), /does not fit/],
    ['bad dtype', build({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, f32(1, 2)), /dtype/],
    ['size mismatch', build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(1, 2)), /do not match/],
    ['overlap', build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(1, 2)), /overlap/],
    ['not json', (() => { const v = valid.slice(); v[9] = 0x7b; v[8] = 0x7b; return v; })(), /JSON/],
    ['NaN', build({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(NaN)), /NaN/],
  ];
  for (const [name, bytes, msg] of cases) {
    it(`refuses ${name} with a BAD_WEIGHTS error`, () => {
      try {
        parseSafeTensors(bytes, 'w.safetensors');
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(SgaiError);
        expect((e as SgaiError).code).toBe('BAD_WEIGHTS');
        expect((e as SgaiError).message).toMatch(msg);
      }
    });
  }

  it('names missing tensors and wrong shapes', () => {
    const file = parseSafeTensors(valid);
    expect(() => expectTensor(file, 'g_a.0.weight', [1])).toThrow(/missing/);
    expect(() => expectTensor(file, 'a', [1, 2])).toThrow(/shape \[2\], the model needs \[1,2\]/);
  });
});
