/**
 * Main's log: one timestamped line per event, to stderr and to userData/logs/main.log (the file a
 * photographer can send with a bug report). The previous file is kept once as main.1.log when it
 * grows past a few MB.
 */
import { createWriteStream, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MAX_BYTES = 4 * 1024 * 1024;

export function createLog(dir: string): { log: (line: string) => void; close: () => void } {
  const file = join(dir, 'main.log');
  let stream: ReturnType<typeof createWriteStream> | null = null;
  try {
    mkdirSync(dir, { recursive: true });
    try {
      if (statSync(file).size > MAX_BYTES) renameSync(file, join(dir, 'main.1.log'));
    } catch {
      // no log yet
    }
    stream = createWriteStream(file, { flags: 'a' });
    stream.on('error', () => {
      stream = null; // a full or read-only disk must not take the app down; stderr still works
    });
  } catch {
    stream = null;
  }
  return {
    log(line) {
      const stamped = `${new Date().toISOString()} ${line}\n`;
      process.stderr.write(stamped);
      stream?.write(stamped);
    },
    close() {
      stream?.end();
    },
  };
}
