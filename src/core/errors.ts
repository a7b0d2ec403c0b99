/**
 * Typed errors shared by every layer. Each carries a code a program can branch on and a
 * message a photographer can act on; callers never need to parse message text.
 */
export type SgaiErrorCode =
  | 'TRUNCATED' // file ends before a structure it announces
  | 'BAD_MAGIC' // not an .sgai file at all
  | 'UNSUPPORTED_VERSION' // made by a newer sgai
  | 'CHECKSUM' // a chunk's CRC32 does not match
  | 'CORRUPT' // structurally invalid content (bad lengths, impossible values)
  | 'UNKNOWN_REQUIRED_CHUNK' // made by a newer sgai with a feature this one lacks
  | 'MODEL_NOT_INSTALLED' // the weights the file was made with are not available
  | 'BAD_WEIGHTS' // a .safetensors file is malformed or does not fit the model
  | 'UNSUPPORTED_IMAGE' // input image format or content we cannot read
  | 'IMAGE_TOO_LARGE' // exceeds the configured pixel limit
  | 'INPUT_UNREADABLE' // an input file is missing, unreadable or a folder (exit 3: bad input)
  | 'IO' // writing an output failed (disk full, read-only, no permission, ...)
  | 'CANCELLED' // the user cancelled
  | 'BUSY' // another sgai batch is writing to the same output folder (or the same shard of it)
  | 'VERIFY_FAILED' // a written file did not decode to what was encoded (batch --verify)
  | 'ENCODER_CRASHED' // an encoder process died or hung on a photo, also when retried (batch engine)
  | 'INVALID_ARGUMENT'; // bad option or argument

export class SgaiError extends Error {
  readonly code: SgaiErrorCode;
  constructor(code: SgaiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SgaiError';
    this.code = code;
  }
}

export function isSgaiError(e: unknown): e is SgaiError {
  return e instanceof SgaiError;
}
