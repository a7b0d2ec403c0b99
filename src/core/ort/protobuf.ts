/**
 * The few protobuf wire-format encodings an ONNX model needs: varints, fixed32 floats and
 * length-delimited fields (strings, bytes, nested messages, packed repeated numbers). Write-only
 * and about fifty lines, instead of a protobuf runtime plus a generated ONNX schema as a
 * dependency: the graphs sgai builds use a handful of message types and never need reading.
 */

/** One encoded message under construction; fields are appended in call order. */
export class Message {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
  }

  private varint(v: number): void {
    // Field values here are non-negative integers below 2^53 (dims, enums, lengths).
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`protobuf varint out of range: ${v}`);
    const out: number[] = [];
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wireType: 0 | 2 | 5): void {
    this.varint(field * 8 + wireType);
  }

  /** int32/int64/enum/bool field (wire type 0). */
  int(field: number, v: number): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  /** float field (wire type 5, little-endian IEEE-754 single). */
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  /** bytes / embedded message field (wire type 2). */
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Message): this {
    return this.bytes(field, m.finish());
  }

  /** Repeated int64, one tagged value each (onnx.proto is proto2: its int lists are not packed). */
  ints(field: number, vs: readonly number[]): this {
    for (const v of vs) this.int(field, v);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
