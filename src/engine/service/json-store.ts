/**
 * A small JSON file in the app's data folder (settings.json, library.json): read once, validated,
 * written whole through core's safe writer (temp file, fsync, read back, rename), so a crash or a
 * full disk never leaves half a file. A file that cannot be parsed is set aside (renamed to
 * `<name>.corrupt-<time>`, so nothing the user had is destroyed) and the store starts from defaults.
 */
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { writeFileSafely } from '../../core';

export interface JsonStore<T> {
  readonly path: string;
  load(): Promise<T>;
  save(value: T): Promise<void>;
}

/**
 * `parse` turns the file's JSON into a value (throwing when it is unusable); it may repair what
 * it can and report what it dropped through `warn`.
 */
export function jsonStore<T>(
  dataDir: string, name: string, o: { schema: z.ZodType<T>; defaults: () => T; parse?: (raw: unknown, warn: (m: string) => void) => T; log: (line: string) => void },
): JsonStore<T> {
  const path = join(dataDir, name);
  // Writes go one after another, so the last value saved is the one left on disk.
  let chain: Promise<void> = Promise.resolve();
  return {
    path,
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return o.defaults();
        o.log(`warning: cannot read ${path} (${(e as Error).message}); starting from defaults`);
        return o.defaults();
      }
      try {
        const raw: unknown = JSON.parse(text);
        return o.parse ? o.parse(raw, (m) => o.log(`warning: ${path}: ${m}`)) : o.schema.parse(raw);
      } catch (e) {
        const aside = `${path}.corrupt-${Date.now()}`;
        await rename(path, aside).catch(() => undefined);
        o.log(`warning: ${path} is damaged (${(e as Error).message.split('\n')[0]}); it was kept as ${aside} and defaults are used`);
        return o.defaults();
      }
    },
    save(value) {
      const bytes = Buffer.from(`${JSON.stringify(o.schema.parse(value), null, 2)}\n`, 'utf8');
      const write = async () => {
        await mkdir(dataDir, { recursive: true });
        await writeFileSafely(path, bytes, { force: true });
      };
      const next = chain.then(write, write);
      chain = next.catch(() => undefined);
      return next;
    },
  };
}
