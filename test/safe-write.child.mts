/**
 * Child process for test/safe-write.test.ts: runs the safe writer under conditions a test
 * process cannot put itself in (another user, a file-size limit, being killed mid-write).
 * Prints one JSON line: {"ok":true} or {"ok":false,"code":...,"message":...}.
 *
 *   write <out> <size> <force 0|1> [dfl]   writeFileSafely of <size> bytes of 0x07
 *   preflight <out>                        preflightOutput
 *   raw <out> <size> [dfl]                 plain fs.writeFileSync (control run)
 *   hang <out>                             starts a write that never finishes; exits 130 on SIGTERM
 *
 * "dfl" first restores SIGXFSZ to its default action (kill), as happens when any library that
 * listened to it (signal-exit, used by write-file-atomic) removes its listener.
 */
import { writeFileSync } from 'node:fs';

const [mode, out, size = '0', force = '0', flag] = process.argv.slice(2);
if (flag === 'dfl' || force === 'dfl') {
  const f = () => {};
  process.on('SIGXFSZ', f);
  process.off('SIGXFSZ', f); // libuv puts back SIG_DFL, not Node's startup SIG_IGN
}

const report = (r: object) => process.stdout.write(`${JSON.stringify(r)}\n`);
let keepAlive: NodeJS.Timeout | undefined;
const io = await import('../src/core/io/safe-write.ts');

try {
  if (mode === 'write') {
    await io.writeFileSafely(out, new Uint8Array(Number(size)).fill(7), { force: force === '1' });
  } else if (mode === 'preflight') {
    await io.preflightOutput(out, {});
  } else if (mode === 'raw') {
    writeFileSync(out, new Uint8Array(Number(size)).fill(7));
  } else if (mode === 'hang') {
    process.on('SIGTERM', () => process.exit(130)); // what the CLI's handler does
    const fs: typeof io.nodeFs = {
      ...io.nodeFs,
      write: async (fd, buf, off, len, pos) => {
        const n = await io.nodeFs.write(fd, buf, off, Math.min(len, 10), pos);
        report({ writing: io.liveTempFiles() });
        await new Promise(() => {}); // a stalled network drive
        return n;
      },
    };
    // Keep the event loop alive while the write is stalled.
    keepAlive = setInterval(() => {}, 1000);
    await io.writeFileSafely(out, new Uint8Array(1000), { fs });
  }
  report({ ok: true });
} catch (e) {
  const err = e as { code?: string; message?: string };
  report({ ok: false, code: err.code, message: err.message });
  process.exitCode = 5;
} finally {
  clearInterval(keepAlive);
}
