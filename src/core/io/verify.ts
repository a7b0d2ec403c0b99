/**
 * Ready-made `verify` hooks for writeFileSafely: they re-parse the bytes about to be put in
 * place, so a writer bug or a corrupted buffer never replaces a good file with a bad one.
 */
import sharp from 'sharp';
import { SgaiError } from '../errors';
import { decodeSgai, listChunks } from '../format';

/** Parses an .sgai completely and checks every chunk's CRC; throws SgaiError if anything is off. */
export function verifySgai(bytes: Uint8Array): void {
  const listing = listChunks(bytes);
  if (listing.error) throw listing.error;
  const bad = listing.chunks.find((c) => !c.crcOk);
  if (bad) throw new SgaiError('CHECKSUM', `checksum mismatch in chunk ${bad.type.trim()} at byte ${bad.offset}`);
  decodeSgai(bytes); // structure, required chunks, tile counts
}

export interface ExpectedImage {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

/** Checks that the bytes are an image sharp can read, of the expected format and size. */
export async function verifyImage(bytes: Uint8Array, want: ExpectedImage): Promise<void> {
  let m: sharp.Metadata;
  try {
    m = await sharp(bytes).metadata();
  } catch (e) {
    throw new SgaiError('CORRUPT', `the ${want.format.toUpperCase()} written is not readable: ${(e as Error).message}`, { cause: e });
  }
  if (m.format !== want.format || m.width !== want.width || m.height !== want.height) {
    throw new SgaiError(
      'CORRUPT',
      `expected a ${want.width}x${want.height} ${want.format.toUpperCase()}, got ${String(m.width)}x${String(m.height)} ${String(m.format)}`,
    );
  }
}
