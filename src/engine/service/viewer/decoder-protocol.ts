/**
 * The messages between the engine and the viewer's decoder process, as zod schemas. Both sides
 * parse what they receive: a decoder that says something else is treated as broken and
 * replaced, and a malformed request is answered as failed, never acted on. Sent with Node's
 * 'advanced' serialization, so pixels cross as typed arrays, not as JSON numbers.
 */
import { z } from 'zod';

export const RectSchema = z.object({
  x: z.number().int().min(0),
  y: z.number().int().min(0),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
});

const ErrorInfo = z.object({
  code: z.string(),
  message: z.string(),
  /** True when it was an SgaiError in the decoder (its code is an SgaiErrorCode). */
  sgai: z.boolean(),
});
export type ErrorInfo = z.infer<typeof ErrorInfo>;

// Engine -> decoder.
export const DecoderInit = z.object({ type: z.literal('init'), backend: z.string() });
export const DecodeRequest = z.object({
  type: z.literal('decode'),
  id: z.number().int(),
  /** The .sgai file, opened read-only. */
  path: z.string().min(1),
  /** Full-resolution pixels of this rectangle; the whole image when absent. */
  rect: RectSchema.optional(),
  /** g_s on the wasm reference (identical pixels everywhere), else on the fast backend. */
  exact: z.boolean(),
  bitDepth: z.union([z.literal(8), z.literal(16)]),
  /** Send progress messages for this request. */
  progress: z.boolean(),
});
export const CancelRequest = z.object({ type: z.literal('cancel'), id: z.number().int() });
export const ToDecoder = z.discriminatedUnion('type', [DecoderInit, DecodeRequest, CancelRequest]);
export type ToDecoder = z.infer<typeof ToDecoder>;
export type DecodeRequest = z.infer<typeof DecodeRequest>;

// Decoder -> engine.
export const FromDecoder = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number(), backend: z.string() }),
  z.object({ type: z.literal('init-failed'), error: ErrorInfo }),
  z.object({ type: z.literal('progress'), id: z.number().int(), done: z.number(), total: z.number() }),
  z.object({
    type: z.literal('result'),
    id: z.number().int(),
    width: z.number().int().min(1),
    height: z.number().int().min(1),
    bitDepth: z.union([z.literal(8), z.literal(16)]),
    data: z.custom<Uint8Array | Uint16Array>((v) => v instanceof Uint8Array || v instanceof Uint16Array, 'pixels as a typed array'),
  }).refine((m) => m.data.length === m.width * m.height * 3 && (m.bitDepth === 16) === m.data instanceof Uint16Array, 'pixels that do not fit the size and depth'),
  z.object({ type: z.literal('failed'), id: z.number().int(), error: ErrorInfo }),
]);
export type FromDecoder = z.infer<typeof FromDecoder>;
