/**
 * Builds ONNX models in memory: a graph of named values, float32 initializers and operator
 * nodes, serialised to ModelProto bytes that onnxruntime loads directly. The weights come from
 * the already-loaded .safetensors (no .onnx file, so no second copy of them on disk or in git).
 *
 * Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).
 */
import { Message } from './protobuf';

/** IR version 8 with the default-domain opset 17: every op used here exists unchanged there. */
export const IR_VERSION = 8;
export const OPSET = 17;

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

/** An attribute value: a number is an INT, {f} a FLOAT, an array INTS, a string STRING. */
export type AttrValue = number | { f: number } | readonly number[] | string;
/** A dimension: a fixed size, or a name for a size chosen at run time. */
export type Dim = number | string;

function attribute(name: string, v: AttrValue): Message {
  const m = new Message().string(1, name);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new TypeError(`attribute ${name}: INT attributes must be integers (use {f} for floats)`);
    return m.int(3, v).int(20, ATTR_INT);
  }
  if (typeof v === 'string') return m.string(4, v).int(20, ATTR_STRING);
  if (Array.isArray(v)) return m.ints(8, v as number[]).int(20, ATTR_INTS);
  return m.float(2, (v as { f: number }).f).int(20, ATTR_FLOAT);
}

function valueInfo(name: string, shape: readonly Dim[]): Message {
  const dims = new Message();
  for (const d of shape) dims.message(1, typeof d === 'number' ? new Message().int(1, d) : new Message().string(2, d));
  const tensorType = new Message().int(1, FLOAT).message(2, dims);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

export class OnnxGraph {
  private readonly nodes: Message[] = [];
  private readonly inits: Message[] = [];
  private readonly inputs: Message[] = [];
  private readonly outputs: Message[] = [];
  private counter = 0;

  constructor(private readonly name: string) {}

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, shape: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, shape));
    return name;
  }

  /** Marks an existing value as a graph output. */
  output(name: string, shape: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, shape));
  }

  /** A float32 constant (weights), stored as raw little-endian bytes. */
  constant(prefix: string, dims: readonly number[], data: Float32Array): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new RangeError(`initializer ${prefix}: ${data.length} values for dims [${dims}]`);
    const name = this.fresh(prefix);
    // A copy, so the bytes are exactly this tensor's even if data is a view into a larger buffer.
    const raw = new Uint8Array(Float32Array.from(data).buffer);
    this.inits.push(new Message().ints(1, dims).int(2, FLOAT).string(8, name).bytes(9, raw));
    return name;
  }

  /** Adds one node; returns the name of its (single) output. */
  node(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outputName?: string): string {
    const out = outputName ?? this.fresh(op.toLowerCase());
    const m = new Message();
    for (const i of inputs) m.string(1, i);
    m.string(2, out).string(3, this.fresh(`n_${op}`)).string(4, op);
    for (const [k, v] of Object.entries(attrs)) m.message(5, attribute(k, v));
    this.nodes.push(m);
    return out;
  }

  /** Serialised ModelProto. */
  toModel(): Uint8Array {
    const g = new Message();
    for (const n of this.nodes) g.message(1, n);
    g.string(2, this.name);
    for (const t of this.inits) g.message(5, t);
    for (const i of this.inputs) g.message(11, i);
    for (const o of this.outputs) g.message(12, o);
    return new Message()
      .int(1, IR_VERSION)
      .string(2, 'sgai')
      .message(7, g)
      .message(8, new Message().string(1, '').int(2, OPSET))
      .finish();
  }
}
