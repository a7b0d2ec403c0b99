/**
 * Input files are checked before any work starts: a missing, unreadable or folder input is bad
 * input (exit 3), reported in plain words, never as a failure to write.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { SgaiError } from '../core';

export function checkInput(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SgaiError('INPUT_UNREADABLE', code === 'ENOENT' || code === 'ENOTDIR'
      ? `cannot read ${path}: no such file`
      : `cannot read ${path}: ${code === 'EACCES' ? 'no permission to read it' : (e as Error).message}`);
  }
  if (st.isDirectory()) throw new SgaiError('INPUT_UNREADABLE', `${path} is a folder; give photo files (sgai batch for folders is coming)`);
  if (!st.isFile()) throw new SgaiError('INPUT_UNREADABLE', `${path} is not a regular file`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new SgaiError('INPUT_UNREADABLE', `cannot read ${path}: no permission to read it`);
  }
}

export function readInput(path: string): Uint8Array {
  checkInput(path);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new SgaiError('INPUT_UNREADABLE', `cannot read ${path}: ${(e as Error).message}`);
  }
}
