/**
 * Thumbnails of library photos: upright (EXIF orientation applied), longest side 160 px, JPEG.
 * The last few hundred are kept in memory, keyed by the photo's size and time so an edited photo
 * gets a new one.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { SgaiError } from '../../core';

const SIDE = 160;
const KEEP = 500;

export class Thumbnails {
  private readonly cache = new Map<string, Uint8Array<ArrayBuffer>>();

  async get(photo: { abs: string; bytes: number; mtimeMs: number }): Promise<Uint8Array<ArrayBuffer>> {
    const key = `${photo.abs}\0${photo.bytes}\0${photo.mtimeMs}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key); // most recently used goes last
      this.cache.set(key, hit);
      return hit;
    }
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      // The bytes, not the path: libvips caches loads by file name, and photos get re-exported in place.
      const src = await readFile(photo.abs);
      bytes = new Uint8Array(await sharp(src).rotate().resize(SIDE, SIDE, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 70 }).toBuffer());
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') throw new SgaiError('INPUT_UNREADABLE', `cannot read ${photo.abs} (${code})`);
      throw new SgaiError('UNSUPPORTED_IMAGE', `no thumbnail for ${photo.abs}: ${(e as Error).message.split('\n')[0]}`);
    }
    this.cache.set(key, bytes);
    if (this.cache.size > KEEP) this.cache.delete(this.cache.keys().next().value!);
    return bytes;
  }
}
