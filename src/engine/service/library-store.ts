/** The library (library.json in the data folder): the folders the user added and their output settings. */
import { z } from 'zod';
import { Id, OutputSettings, Path } from '../../ipc/schemas';
import { jsonStore, type JsonStore } from './json-store';

export const StoredFolder = z.object({ id: Id, path: Path, output: OutputSettings });
export type StoredFolder = z.infer<typeof StoredFolder>;
export const StoredLibrary = z.object({ version: z.literal(1), folders: z.array(StoredFolder) });
export type StoredLibrary = z.infer<typeof StoredLibrary>;

export function libraryStore(dataDir: string, log: (line: string) => void): JsonStore<StoredLibrary> {
  return jsonStore(dataDir, 'library.json', {
    schema: StoredLibrary,
    defaults: () => ({ version: 1, folders: [] }),
    // One unreadable folder entry does not cost the user the others.
    parse: (raw, warn) => {
      const shell = z.object({ version: z.literal(1), folders: z.array(z.unknown()) }).parse(raw);
      const folders: StoredFolder[] = [];
      for (const f of shell.folders) {
        const r = StoredFolder.safeParse(f);
        if (r.success && !folders.some((g) => g.id === r.data.id || g.path === r.data.path)) folders.push(r.data);
        else warn(`a library folder entry could not be read and was left out (${JSON.stringify(f).slice(0, 200)})`);
      }
      return { version: 1, folders };
    },
    log,
  });
}
