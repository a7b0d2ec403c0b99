/**
 * Writes the WebAssembly text of the float64 h_s convolution kernel (src/core/model/
 * hyper-synthesis.ts, conv64): stride-1 "same" convolution, HWC input, filter [k][k][cin][cout].
 *
 * Every output element is summed in exactly the order conv64 uses in JavaScript - bias, then taps
 * in row-major order (taps outside the input skipped), then input channels four at a time as
 * acc + (((x0*f0 + x1*f1) + x2*f2) + x3*f3) - so the result is bit-identical: WebAssembly's f64
 * and f64x2 arithmetic is IEEE-754 round-to-nearest with no fused multiply-add, like JS numbers.
 * The speed comes from f64x2 lanes across output channels and register blocking: an interior
 * block of P pixels x Q channel pairs keeps its P*Q accumulators in registers for the whole tap
 * loop and loads each filter vector once for P pixels. Border pixels (whose taps fall partly
 * outside) take a one-pixel path with the same order.
 *
 * Taps are skipped per channel block where a bit mask ($m: one i32 per block of 2Q output channels,
 * bit ky*k+kx) says the filter is all zero there: the zero phases of transposed convolutions,
 * about 30 % of their taps. Skipping an exact +0 product changes no sum (only the sign of an
 * exact zero could differ, which no rounding or CDF index sees).
 *
 * Requires cin % 4 == 0, cout % (2 Q) == 0 and k*k <= 32; the caller keeps the JS path for anything else.
 * Generated rather than hand-written because the blocked body is long and regular.
 */

import { KERNEL_SHAPE, type KernelShape } from '../../src/core/model/conv64-shape';

export { KERNEL_SHAPE };

const lines: string[] = [];
const emit = (s: string) => lines.push(s);

/** The inner tap loop for one block of `p` pixels x `q` channel pairs; `edge` checks each tap's column. */
function blockBody(p: number, q: number, edge: boolean): void {
  const acc = (i: number, j: number) => `$a${i}_${j}`;
  // accumulators start at the bias
  for (let i = 0; i < p; i++)
    for (let j = 0; j < q; j++) emit(`(local.set ${acc(i, j)} (v128.load offset=${j * 16} (local.get $bp)))`);
  emit('(local.set $ky (i32.const 0))');
  emit('(block $kyEnd (loop $kyLoop');
  emit('  (local.set $iy (i32.sub (i32.add (local.get $oy) (local.get $ky)) (local.get $pad)))');
  emit('  (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $h))) (then');
  emit('    (local.set $kx (i32.const 0))');
  emit('    (block $kxEnd (loop $kxLoop');
  emit('      (local.set $ix (i32.sub (i32.add (local.get $ox) (local.get $kx)) (local.get $pad)))');
  // A tap whose filter is zero for every input channel of this block (a phase of a transposed
  // convolution that has no weight there) is skipped: adding x*0 leaves the sum unchanged.
  const live = '(i32.and (local.get $mask) (i32.shl (i32.const 1) (i32.add (i32.mul (local.get $ky) (local.get $k)) (local.get $kx))))';
  emit(edge
    ? `      (if (i32.and (i32.ne (i32.const 0) ${live}) (i32.and (i32.ge_s (local.get $ix) (i32.const 0)) (i32.lt_s (local.get $ix) (local.get $w)))) (then`
    : `      (if (i32.ne (i32.const 0) ${live}) (then`);
  // xp: first input value of pixel 0 at this tap; fp: filter row (ky, kx, ci=0) at channel c
  emit('      (local.set $xp (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $w)) (local.get $ix)) (local.get $cin)) (i32.const 3))))');
  emit('      (local.set $fp (i32.add (local.get $cp) (i32.mul (i32.add (i32.mul (local.get $ky) (local.get $k)) (local.get $kx)) (local.get $tapBytes))))');
  emit('      (local.set $ci (i32.const 0))');
  emit('      (block $ciEnd (loop $ciLoop');
  for (let r = 0; r < 4; r++)
    for (let j = 0; j < q; j++)
      emit(`        (local.set $f${r}_${j} (v128.load offset=${(r * q + j) * 16} (local.get $fp)))`);
  for (let i = 0; i < p; i++) {
    // the pixel's four inputs, each broadcast to both lanes
    const px = i === 0 ? '(local.get $xp)' : `(i32.add (local.get $xp) (i32.mul (i32.const ${i}) (local.get $pixBytes)))`;
    emit(`        (local.set $xq ${px})`);
    for (let r = 0; r < 4; r++) emit(`        (local.set $x${r} (v128.load64_splat offset=${r * 8} (local.get $xq)))`);
    for (let j = 0; j < q; j++) {
      const m = (r: number) => `(f64x2.mul (local.get $x${r}) (local.get $f${r}_${j}))`;
      emit(`        (local.set ${acc(i, j)} (f64x2.add (local.get ${acc(i, j)}) (f64x2.add (f64x2.add (f64x2.add ${m(0)} ${m(1)}) ${m(2)}) ${m(3)})))`);
    }
  }
  emit('        (local.set $xp (i32.add (local.get $xp) (i32.const 32)))');
  emit('        (local.set $fp (i32.add (local.get $fp) (i32.shl (local.get $rowBytes) (i32.const 2))))');
  emit('        (local.set $ci (i32.add (local.get $ci) (i32.const 4)))');
  emit('        (br_if $ciLoop (i32.lt_u (local.get $ci) (local.get $cin)))))');
  emit('      ))');
  emit('      (local.set $kx (i32.add (local.get $kx) (i32.const 1)))');
  emit('      (br_if $kxLoop (i32.lt_u (local.get $kx) (local.get $k)))))');
  emit('  ))');
  emit('  (local.set $ky (i32.add (local.get $ky) (i32.const 1)))');
  emit('  (br_if $kyLoop (i32.lt_u (local.get $ky) (local.get $k)))))');
  // store: pixel i's outputs for channels c .. c + 2q
  for (let i = 0; i < p; i++) {
    const op = i === 0 ? '(local.get $op)' : `(i32.add (local.get $op) (i32.mul (i32.const ${i}) (local.get $outPixBytes)))`;
    for (let j = 0; j < q; j++) emit(`(v128.store offset=${j * 16} ${op} (local.get ${acc(i, j)}))`);
  }
}

/** One pass over the channel blocks of `p` pixels starting at $ox. */
function channelLoop(p: number, q: number, edge: boolean, label: string): void {
  emit('(local.set $c (i32.const 0))');
  emit(`(block $${label}End (loop $${label}Loop`);
  emit('  (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $c) (i32.const 3))))');
  emit(`  (local.set $mask (i32.load (i32.add (local.get $m) (i32.shl (i32.div_u (local.get $c) (i32.const ${2 * q})) (i32.const 2)))))`);
  emit('  (local.set $cp (i32.add (local.get $f) (i32.mul (local.get $c) (i32.mul (i32.mul (local.get $k) (local.get $k)) (local.get $pixBytes)))))');
  emit('  (local.set $op (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $w)) (local.get $ox)) (local.get $cout)) (local.get $c)) (i32.const 3))))');
  blockBody(p, q, edge);
  emit(`  (local.set $c (i32.add (local.get $c) (i32.const ${2 * q})))`);
  emit(`  (br_if $${label}Loop (i32.lt_u (local.get $c) (local.get $cout)))))`);
}

export function conv64Wat({ P, Q }: KernelShape = KERNEL_SHAPE): string {
  lines.length = 0;
  emit('(module');
  emit('(memory (export "memory") 1)');
  emit('(func (export "conv") (param $x i32) (param $h i32) (param $w i32) (param $cin i32) (param $cout i32) (param $k i32) (param $f i32) (param $b i32) (param $m i32) (param $out i32)');
  const i32s = ['pad', 'oy', 'ox', 'ky', 'kx', 'iy', 'ix', 'ci', 'c', 'xp', 'xq', 'fp', 'cp', 'bp', 'op', 'rowBytes', 'tapBytes', 'pixBytes', 'outPixBytes', 'lastInterior', 'mask'];
  emit(i32s.map((n) => `(local $${n} i32)`).join(' '));
  const v: string[] = ['x0', 'x1', 'x2', 'x3'];
  for (let r = 0; r < 4; r++) for (let j = 0; j < Q; j++) v.push(`f${r}_${j}`);
  for (let i = 0; i < P; i++) for (let j = 0; j < Q; j++) v.push(`a${i}_${j}`);
  emit(v.map((n) => `(local $${n} v128)`).join(' '));
  emit('(local.set $pad (i32.shr_u (local.get $k) (i32.const 1)))');
  // The filter arrives packed per channel block: [c / 2Q][ky][kx][ci][2Q], so the tap loop reads it
  // sequentially (packFilter in src/core/model/conv64-wasm.ts).
  emit(`(local.set $rowBytes (i32.const ${Q * 16}))`); // one input channel's row within a block
  emit('(local.set $tapBytes (i32.mul (local.get $cin) (local.get $rowBytes)))');
  emit('(local.set $pixBytes (i32.shl (local.get $cin) (i32.const 3)))');
  emit('(local.set $outPixBytes (i32.shl (local.get $cout) (i32.const 3)))');
  // A block starting at ox is interior when ox >= pad and ox + P - 1 + (k - 1 - pad) < w.
  emit(`(local.set $lastInterior (i32.sub (i32.sub (i32.add (local.get $w) (local.get $pad)) (local.get $k)) (i32.const ${P - 1})))`);
  emit('(local.set $oy (i32.const 0))');
  emit('(block $oyEnd (loop $oyLoop');
  emit('(br_if $oyEnd (i32.ge_s (local.get $oy) (local.get $h)))');
  emit('(local.set $ox (i32.const 0))');
  emit('(block $oxEnd (loop $oxLoop');
  emit('(br_if $oxEnd (i32.ge_s (local.get $ox) (local.get $w)))');
  emit('(if (i32.and (i32.ge_s (local.get $ox) (local.get $pad)) (i32.le_s (local.get $ox) (local.get $lastInterior))) (then');
  channelLoop(P, Q, false, 'cb');
  emit(`(local.set $ox (i32.add (local.get $ox) (i32.const ${P})))`);
  emit(') (else');
  channelLoop(1, Q, true, 'ce');
  emit('(local.set $ox (i32.add (local.get $ox) (i32.const 1)))');
  emit('))');
  emit('(br $oxLoop)))');
  emit('(local.set $oy (i32.add (local.get $oy) (i32.const 1)))');
  emit('(br $oyLoop)))');
  emit(')');
  emit(')');
  return lines.join('\n');
}
