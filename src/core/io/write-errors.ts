/**
 * Turns errno failures into SgaiErrors a photographer can act on. Messages name the final
 * output path or its folder, never the hidden temp file the user has never heard of.
 */
import { SgaiError } from '../errors';

export interface WriteContext {
  /** The final path being written (absolute). */
  path: string;
  /** Its folder. */
  folder: string;
  /** Size of the file being written, for the disk-full message. */
  bytes?: number;
}

export const errnoCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && typeof (e as NodeJS.ErrnoException).code === 'string' ? (e as NodeJS.ErrnoException).code : undefined;

const PLAIN: Record<string, string> = {
  EIO: 'the disk reported a read/write error (is it failing or was it unplugged?)',
  ENAMETOOLONG: 'the file name is too long',
  ELOOP: 'too many symbolic links in the path',
  EMFILE: 'too many files are open',
  ENFILE: 'too many files are open',
  EBUSY: 'the file is in use by another program',
  ETXTBSY: 'the file is in use by another program',
  EXDEV: 'the temporary copy ended up on a different disk',
  ESTALE: 'the network drive lost track of the file',
  ENXIO: 'the device is not available',
  ENODEV: 'the device is not available',
  EINVAL: 'the disk does not allow this file name or operation',
};

/** A reason without paths: Node's errno messages embed the (temp) path, so rebuild one. */
export function plainReason(e: unknown, hide: string[] = []): string {
  const code = errnoCode(e);
  if (code && PLAIN[code]) return PLAIN[code];
  const msg = e instanceof Error ? e.message : String(e);
  // "EIO: i/o error, write" / "ENOSPC: no space left on device, open '/x/.tmp'": keep the words.
  const m = /^[A-Z][A-Z0-9_]+: ([^,]+)/.exec(msg);
  let out = m ? m[1] : msg;
  for (const h of hide) if (h) out = out.split(h).join('…');
  return out;
}

/** SgaiError('IO') for a failure while writing ctx.path; `hide` lists paths (temp files) to keep out of the text. */
export function writeError(e: unknown, ctx: WriteContext, hide: string[] = []): SgaiError {
  if (e instanceof SgaiError) return e;
  const { path, folder } = ctx;
  let msg: string;
  switch (errnoCode(e)) {
    case 'ENOSPC':
    case 'EDQUOT':
      msg = `the disk is full: could not write ${path}${ctx.bytes !== undefined ? ` (${ctx.bytes} bytes needed)` : ''}`;
      break;
    case 'EACCES':
    case 'EPERM':
      msg = `no permission to write in ${folder}`;
      break;
    case 'EROFS':
      msg = `${folder} is on a read-only disk`;
      break;
    case 'EISDIR':
      msg = `${path} is a folder`;
      break;
    case 'ENOENT':
      msg = `the folder ${folder} does not exist`;
      break;
    case 'ENOTDIR':
      msg = `${folder} is not a folder`;
      break;
    case 'EFBIG':
      msg = `${path} would exceed the file-size limit of this shell (ulimit -f)`;
      break;
    default:
      msg = `could not write ${path}: ${plainReason(e, hide)}`;
  }
  return new SgaiError('IO', msg, { cause: e });
}

/** A write that made no progress (returned 0) means the device has no room left. */
export function diskFullError(): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error('ENOSPC: no space left on device (write made no progress)');
  e.code = 'ENOSPC';
  return e;
}

export const cancelledError = (path: string): SgaiError => new SgaiError('CANCELLED', `cancelled: ${path} was not written`);
