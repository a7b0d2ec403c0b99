/**
 * `--verify`: the bytes read back from the temp file, before the rename, are decoded on the
 * reference backend and compared with the original. The encode measured the PSNR of the very
 * same reference decode of its latents, so an intact file reproduces it exactly; anything else
 * (a disk that returns other bytes than it was given, an original changed mid-run) keeps the
 * file from being put in place and the photo from being recorded as done.
 */
import { decode, psnr, readImage, SgaiError, type LoadedModel, type ReadOptions } from '../core';

/** Same computation on the same pixels: equal up to float summation order, far below 1e-6 dB. */
const TOLERANCE_DB = 1e-6;

export interface VerifyInput {
  /** The .sgai as written to disk and read back. */
  written: Uint8Array;
  /** The original's bytes and path (for messages). */
  source: Uint8Array;
  sourcePath: string;
  /** What the encode measured (EncodeOptions.measure). */
  expectedPsnr: number;
  model: LoadedModel;
  read?: ReadOptions;
}

/** The PSNR of the written file against its original; throws VERIFY_FAILED when it is not the encode's. */
export async function verifyWritten(v: VerifyInput): Promise<number> {
  let decoded;
  try {
    decoded = await decode(v.written, { model: v.model });
  } catch (e) {
    throw new SgaiError('VERIFY_FAILED', `the file written for ${v.sourcePath} does not decode (${(e as Error).message}); it was not kept`, { cause: e });
  }
  const { image } = await readImage(v.source, { ...v.read, name: v.sourcePath });
  const got = psnr(image, decoded.image);
  if (!(Math.abs(got - v.expectedPsnr) <= TOLERANCE_DB)) {
    throw new SgaiError(
      'VERIFY_FAILED',
      `the file written for ${v.sourcePath} decodes to ${got.toFixed(3)} dB against the original, but the encode gave ${v.expectedPsnr.toFixed(3)} dB; it was not kept`,
    );
  }
  return got;
}
