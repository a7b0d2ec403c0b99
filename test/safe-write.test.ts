/**
 * The safe output writer (src/core/io), against real failures: a full tmpfs, a read-only
 * mount, another user without permission, a file-size limit, links to the input photo, aborts,
 * plus an injected fs for what real disks do only rarely (short writes, ENOSPC at every byte).
 *
 * Every failing case asserts: no truncated or wrong file under the final name (an existing one
 * is byte-identical), the input unchanged, no temp or probe file left, the SgaiError code, and
 * a message naming the final path (or its folder, for folder-level errors).
 *
 * Mounting needs root; where `mount -t tmpfs` is not permitted the tmpfs cases run the same
 * assertions on the injected fs instead, and the test names say "[injected fs]".
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SgaiError, type SgaiErrorCode } from '../src/core/errors';
import { encodeSgai, type SgaiFile } from '../src/core/format';
import { encodeImage, writeImageFile } from '../src/core/image/export';
import type { RasterImage } from '../src/core/image/raster';
import {
  liveTempFiles,
  nodeFs,
  preflightOutput,
  removeLiveTempFiles,
  writeFileSafely,
  type SafeWriteFs,
} from '../src/core/io/safe-write';
import { verifyImage, verifySgai } from '../src/core/io/verify';
import { mulberry32 } from './seeded-random';

const CHILD = resolve(__dirname, 'safe-write.child.mts');
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

// ---------------------------------------------------------------- environment detection

function run(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

const base = mkdtempSync(join(tmpdir(), 'sgai-safe-write-'));
chmodSync(base, 0o755); // the "nobody" child must be able to reach folders in here

/** SGAI_TEST_INJECTED_ONLY=1 runs the injected-fs fallbacks even where the real thing works (to test them). */
const INJECTED_ONLY = process.env.SGAI_TEST_INJECTED_ONLY === '1';
/** Can this process mount a tmpfs (root, or CAP_SYS_ADMIN)? Decided once, before tests are named. */
const CAN_MOUNT = !INJECTED_ONLY && (() => {
  const probe = join(base, 'mount-probe');
  mkdirSync(probe);
  const ok = run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
  if (ok) run('umount', [probe]);
  return ok;
})();
/** Can we run a child as user nobody (to meet a real EACCES, which root never gets)? */
const AS_NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];
const CAN_DROP = !INJECTED_ONLY && process.getuid?.() === 0 && run(AS_NOBODY[0], [...AS_NOBODY.slice(1), 'true']);
const CAN_PRLIMIT = !INJECTED_ONLY && run('prlimit', ['--fsize=65536', '--', 'true']);

const FS_MODE = CAN_MOUNT ? 'tmpfs' : 'injected fs';
console.log(
  `[safe-write] disk-full / read-only cases use: ${FS_MODE}${CAN_MOUNT ? ' (mount -t tmpfs permitted)' : ' (mount not permitted, or SGAI_TEST_INJECTED_ONLY=1)'}; ` +
    `EACCES case uses: ${CAN_DROP ? 'a child process as user nobody' : 'the injected fs'}; ` +
    `EFBIG case uses: ${CAN_PRLIMIT ? 'a child process under prlimit --fsize' : 'the injected fs'}`,
);

const mounts: string[] = [];

function mountTmpfs(name: string, sizeK: number): string {
  const dir = join(base, name);
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeK}k,mode=0755`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

function unmountAll(): void {
  while (mounts.length) {
    const m = mounts.pop()!;
    if (!run('umount', [m])) run('umount', ['-l', m]); // lazy: never leave a mount behind
  }
}
afterAll(() => {
  unmountAll();
  rmSync(base, { recursive: true, force: true });
});
// Also when the worker is torn down without afterAll (a timeout, Ctrl-C): 'exit' may run sync code.
process.on('exit', unmountAll);

// ---------------------------------------------------------------- helpers

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const hashFile = (p: string) => sha(readFileSync(p));

function randomBytes(n: number, seed = n): Uint8Array {
  const r = mulberry32(seed);
  return Uint8Array.from({ length: n }, () => (r() * 256) | 0);
}

let caseNo = 0;
function freshDir(parent = base): string {
  const d = join(parent, `case-${++caseNo}`);
  mkdirSync(d);
  return d;
}

async function expectSgaiError(p: Promise<unknown>, code: SgaiErrorCode, ...mentions: (string | RegExp)[]): Promise<SgaiError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e, 'expected a rejection').toBeInstanceOf(SgaiError);
  const err = e as SgaiError;
  expect(err.code, err.message).toBe(code);
  for (const m of mentions) {
    if (typeof m === 'string') expect(err.message).toContain(m);
    else expect(err.message).toMatch(m);
  }
  expect(err.message).not.toMatch(/sgai-tmp|sgai-probe/); // never the temp file's name
  return err;
}

/** Only these names in the folder: no temp, probe or partial file. */
function expectFolder(dir: string, names: string[]): void {
  expect(readdirSync(dir).sort()).toEqual([...names].sort());
}

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code });

/** Real fs with some calls replaced: faults on real files, so the cleanup is real too. */
const faulty = (over: Partial<SafeWriteFs>): SafeWriteFs => ({ ...nodeFs, ...over });

/** A disk that fills up at byte `k`: the write crossing k is short, then 'throw' (ENOSPC) or 'zero' (returns 0). */
function fullAt(k: number, how: 'throw' | 'zero'): SafeWriteFs {
  return faulty({
    write: async (fd, buf, off, len, pos) => {
      const room = k - pos;
      if (room <= 0) {
        if (how === 'zero') return 0;
        throw errno('ENOSPC');
      }
      return nodeFs.write(fd, buf, off, Math.min(len, room), pos);
    },
  });
}

/** A photo and an old output next to each other; returns a checker for "nothing changed". */
function scene(dir: string, outName = 'out.sgai', oldSize = 777) {
  const input = join(dir, 'photo.jpg');
  writeFileSync(input, randomBytes(4096, 1));
  const inputHash = hashFile(input);
  const out = join(dir, outName);
  let oldHash: string | undefined;
  if (oldSize > 0) {
    writeFileSync(out, randomBytes(oldSize, 2));
    oldHash = hashFile(out);
  }
  return {
    input,
    out,
    unchanged(extra: string[] = []) {
      expect(hashFile(input)).toBe(inputHash);
      if (oldHash) expect(hashFile(out)).toBe(oldHash);
      else expect(existsSync(out)).toBe(false);
      expectFolder(dir, ['photo.jpg', ...(oldHash ? [outName] : []), ...extra]);
    },
  };
}

/** Runs the child script (optionally as nobody / under a limit); returns its JSON report and exit. */
function child(args: string[], wrap: string[] = [], env: Record<string, string> = {}) {
  const cmd = [...wrap, process.execPath, '--import', TSX_LOADER, CHILD, ...args];
  const r = spawnSync(cmd[0], cmd.slice(1), {
    cwd: base,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, TSX_DISABLE_CACHE: '1', ...env },
  });
  const line = r.stdout.trim().split('\n').filter(Boolean).pop();
  let report: { ok: boolean; code?: string; message?: string } | undefined;
  try {
    report = line ? JSON.parse(line) : undefined;
  } catch {
    report = undefined;
  }
  return { status: r.status, signal: r.signal, report, stdout: r.stdout, stderr: r.stderr };
}

// ---------------------------------------------------------------- tests

describe('writeFileSafely: the normal path', () => {
  it('writes a new file, replaces only with force, leaves no temp or probe file', async () => {
    const dir = freshDir();
    const s = scene(dir, 'out.sgai', 0);
    const a = randomBytes(5000, 10);
    const t = await preflightOutput(s.out, { inputs: [s.input] });
    expect(t.path).toBe(s.out);
    expectFolder(dir, ['photo.jpg']); // the probe file is gone again
    await writeFileSafely(t, a);
    expect(sha(readFileSync(s.out))).toBe(sha(a));
    await expectSgaiError(writeFileSafely(s.out, randomBytes(10)), 'INVALID_ARGUMENT', `${s.out} exists; pass --force to replace it`);
    await expectSgaiError(preflightOutput(s.out), 'INVALID_ARGUMENT', `${s.out} exists; pass --force to replace it`);
    const b = randomBytes(123, 11);
    await writeFileSafely(s.out, b, { force: true, inputs: [s.input] });
    expect(sha(readFileSync(s.out))).toBe(sha(b));
    await writeFileSafely(join(dir, 'empty.sgai'), new Uint8Array(0));
    expect(readFileSync(join(dir, 'empty.sgai')).length).toBe(0);
    expectFolder(dir, ['photo.jpg', 'out.sgai', 'empty.sgai']);
    expect(liveTempFiles()).toEqual([]);
  });

  it('a file created by someone else during the encode is not replaced without --force', async () => {
    const dir = freshDir();
    const t = await preflightOutput(join(dir, 'out.sgai'));
    writeFileSync(join(dir, 'out.sgai'), 'theirs');
    await expectSgaiError(writeFileSafely(t, randomBytes(100)), 'INVALID_ARGUMENT', 'exists; pass --force');
    expect(readFileSync(join(dir, 'out.sgai'), 'utf8')).toBe('theirs');
    expectFolder(dir, ['out.sgai']);
  });
});

describe('short writes', () => {
  it('continues every short write to a complete, correct file (injected fs)', async () => {
    const dir = freshDir();
    const s = scene(dir);
    const pattern = [1, 7, 100, 3, 999, 2];
    let calls = 0;
    const fs = faulty({ write: (fd, buf, off, len, pos) => nodeFs.write(fd, buf, off, Math.min(len, pattern[calls++ % pattern.length]), pos) });
    const data = randomBytes(3000, 3);
    await writeFileSafely(s.out, data, { fs, force: true, inputs: [s.input] });
    expect(calls).toBeGreaterThan(10);
    expect(sha(readFileSync(s.out))).toBe(sha(data));
    expectFolder(dir, ['photo.jpg', 'out.sgai']);
  });

  it('a large file (3 MB, several chunks) written half a request at a time', async () => {
    const dir = freshDir();
    let calls = 0;
    const fs = faulty({ write: (fd, buf, off, len, pos) => (calls++, nodeFs.write(fd, buf, off, Math.max(1, len >> 1), pos)) });
    const data = randomBytes(3_000_000, 4);
    await writeFileSafely(join(dir, 'big.sgai'), data, { fs });
    expect(calls).toBeGreaterThan(20);
    expect(sha(readFileSync(join(dir, 'big.sgai')))).toBe(sha(data));
    expectFolder(dir, ['big.sgai']);
  });

  it('a disk that claims to have written bytes it did not is caught by the read-back', async () => {
    const dir = freshDir();
    const s = scene(dir);
    const liar = faulty({ write: async (fd, buf, off, len, pos) => (await nodeFs.write(fd, buf, off, Math.max(1, len - 5), pos), len) });
    await expectSgaiError(writeFileSafely(s.out, randomBytes(3000), { fs: liar, force: true }), 'IO', `could not write ${s.out}`, 'read back');
    const flipper = faulty({
      read: async (fd, buf, off, len, pos) => {
        const n = await nodeFs.read(fd, buf, off, len, pos);
        if (n > 0) buf[off] ^= 1;
        return n;
      },
    });
    await expectSgaiError(writeFileSafely(s.out, randomBytes(3000), { fs: flipper, force: true }), 'IO', `could not write ${s.out}`, 'differs');
    s.unchanged();
  });
});

describe('disk full', () => {
  it('ENOSPC at every byte offset of a 3,000-byte file, as a throw and as a 0-byte write (injected fs)', async () => {
    const dir = freshDir();
    const s = scene(dir);
    const data = randomBytes(3000, 5);
    const t = await preflightOutput(s.out, { force: true, inputs: [s.input] });
    for (const how of ['throw', 'zero'] as const) {
      for (let k = 0; k < data.length; k++) {
        const e = await writeFileSafely(t, data, { fs: fullAt(k, how) }).then(
          () => undefined,
          (x: unknown) => x as SgaiError,
        );
        if (!(e instanceof SgaiError) || e.code !== 'IO' || e.message !== `the disk is full: could not write ${s.out} (3000 bytes needed)`) {
          throw new Error(`offset ${k} (${how}): ${String(e)}`);
        }
        s.unchanged(); // old file and input byte-identical, no temp file
      }
    }
    s.unchanged();
    // Room for exactly the whole file: it fits.
    await writeFileSafely(t, data, { fs: fullAt(data.length, 'throw') });
    expect(sha(readFileSync(s.out))).toBe(sha(data));
  });

  it('ENOSPC/EDQUOT reported late, by fsync or close (network and delayed-allocation disks)', async () => {
    const dir = freshDir();
    const s = scene(dir);
    const data = randomBytes(2000, 6);
    for (const [call, code] of [['fsync', 'ENOSPC'], ['fsync', 'EDQUOT'], ['close', 'ENOSPC']] as const) {
      let fired = false;
      // The first fsync/close of a plain-path write is the temp file's (the folder's comes after the rename).
      const fs = faulty({
        [call]: async (fd: number) => {
          if (!fired) {
            fired = true;
            if (call === 'close') await nodeFs.close(fd); // the descriptor is gone, as with a real failing close
            throw errno(code);
          }
          return call === 'fsync' ? nodeFs.fsync(fd) : nodeFs.close(fd);
        },
      });
      await expectSgaiError(writeFileSafely(s.out, data, { fs, force: true }), 'IO', `the disk is full: could not write ${s.out} (2000 bytes needed)`);
      expect(fired).toBe(true);
      s.unchanged();
    }
  });

  it.runIf(CAN_MOUNT)('[tmpfs] a real 64 KiB tmpfs with a few pages free: bigger files fail cleanly, the old file survives', async () => {
    const dir = mountTmpfs('full', 64);
    const s = scene(dir, 'out.sgai', 5000);
    const page = statfsSync(dir).bsize;
    // Fill until only 3 pages are free.
    const freeNow = () => statfsSync(dir).bavail * statfsSync(dir).bsize;
    writeFileSync(join(dir, 'filler'), new Uint8Array(freeNow() - 3 * page));
    const free = freeNow();
    expect(free).toBe(3 * page);
    for (const size of [free + 1, free + page, 5 * page, 40_000]) {
      const data = randomBytes(size, 7);
      await expectSgaiError(
        writeFileSafely(s.out, data, { force: true, inputs: [s.input] }),
        'IO',
        `the disk is full: could not write ${s.out} (${size} bytes needed)`,
      );
      await expectSgaiError(writeFileSafely(join(dir, 'new.sgai'), data), 'IO', `the disk is full: could not write ${join(dir, 'new.sgai')}`);
      s.unchanged(['filler']);
      expect(freeNow()).toBe(free); // the temp file's pages were given back
    }
    // A preflight still passes on a full disk (the probe takes no space), and a file that fits is written.
    const small = randomBytes(2 * page, 8);
    const t = await preflightOutput(s.out, { force: true, inputs: [s.input] });
    await writeFileSafely(t, small);
    expect(sha(readFileSync(s.out))).toBe(sha(small));
  });

  it.runIf(CAN_MOUNT)('[tmpfs] writeImageFile on a full tmpfs: IO disk-full, no partial PNG', async () => {
    const dir = mountTmpfs('full-png', 64);
    const r = mulberry32(9);
    const img: RasterImage = { width: 96, height: 96, bitDepth: 8, data: Uint8Array.from({ length: 96 * 96 * 3 }, () => (r() * 256) | 0) };
    const png = await encodeImage(img, { format: 'png' });
    expect(png.length).toBeGreaterThan(20_000);
    writeFileSync(join(dir, 'filler'), new Uint8Array(statfsSync(dir).bavail * statfsSync(dir).bsize - 8192));
    await expectSgaiError(writeImageFile(join(dir, 'x.png'), img, { format: 'png' }), 'IO', `the disk is full: could not write ${join(dir, 'x.png')}`);
    expectFolder(dir, ['filler']);
  });

  it.runIf(!CAN_MOUNT)('[injected fs] tmpfs not mountable: disk full part-way through a large file', async () => {
    const dir = freshDir();
    const s = scene(dir, 'out.sgai', 5000);
    for (const size of [12_289, 16_384, 40_000]) {
      await expectSgaiError(writeFileSafely(s.out, randomBytes(size), { force: true, fs: fullAt(12_288, 'throw') }), 'IO', `the disk is full: could not write ${s.out} (${size} bytes needed)`);
      s.unchanged();
    }
  });
});

describe('read-only disk and no permission', () => {
  it.runIf(CAN_MOUNT)('[tmpfs] a tmpfs remounted read-only: preflight and write both say so; the existing file survives', async () => {
    const dir = mountTmpfs('ro', 64);
    const s = scene(dir, 'out.sgai', 3000);
    const early = await preflightOutput(join(dir, 'later.sgai'), { inputs: [s.input] }); // before the disk turns read-only
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    const msg = `${dir} is on a read-only disk`;
    await expectSgaiError(preflightOutput(join(dir, 'new.sgai')), 'IO', msg);
    await expectSgaiError(writeFileSafely(s.out, randomBytes(100), { force: true, inputs: [s.input] }), 'IO', msg);
    await expectSgaiError(writeFileSafely(early, randomBytes(100)), 'IO', msg);
    s.unchanged();
  });

  it.runIf(!CAN_MOUNT)('[injected fs] read-only disk (EROFS on create)', async () => {
    const dir = freshDir();
    const s = scene(dir);
    const fs = faulty({ open: async () => Promise.reject(errno('EROFS')) });
    await expectSgaiError(preflightOutput(s.out, { force: true, fs }), 'IO', `${dir} is on a read-only disk`);
    await expectSgaiError(writeFileSafely(s.out, randomBytes(100), { force: true, fs }), 'IO', `${dir} is on a read-only disk`);
    s.unchanged();
  });

  it.runIf(CAN_DROP)('[real, as user nobody] a chmod 555 folder: EACCES → "no permission to write in <folder>"', () => {
    const dir = freshDir();
    const s = scene(dir);
    chmodSync(dir, 0o555);
    try {
      for (const args of [['write', s.out, '100', '1'], ['write', join(dir, 'new.sgai'), '100', '0'], ['preflight', join(dir, 'new.sgai')]]) {
        const r = child(args, AS_NOBODY);
        expect(r.report, r.stderr).toEqual({ ok: false, code: 'IO', message: `no permission to write in ${dir}` });
        expect(r.status).toBe(5);
      }
    } finally {
      chmodSync(dir, 0o755);
    }
    s.unchanged();
  });

  it.runIf(!CAN_DROP)('[injected fs] EACCES (cannot run a child as nobody here)', async () => {
    const dir = freshDir();
    const s = scene(dir);
    const fs = faulty({ open: async () => Promise.reject(errno('EACCES')) });
    await expectSgaiError(preflightOutput(s.out, { force: true, fs }), 'IO', `no permission to write in ${dir}`);
    await expectSgaiError(writeFileSafely(s.out, randomBytes(100), { force: true, fs }), 'IO', `no permission to write in ${dir}`);
    s.unchanged();
  });
});

describe('the input photo is never the output', () => {
  const ids = () => {
    const dir = freshDir();
    const s = scene(dir, 'out.sgai', 0);
    return { dir, ...s };
  };
  const refused = (input: string) => new RegExp(`refusing to write .*: it is the input photo ${input.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(originals are never touched\\)`);

  it('symlink to the input, hard link, same path, other spellings, a symlinked folder: all refused', async () => {
    const { dir, input, unchanged } = ids();
    symlinkSync(input, join(dir, 'link.sgai'));
    linkSync(input, join(dir, 'hard.sgai'));
    mkdirSync(join(dir, 'sub'));
    symlinkSync(dir, join(base, `alias-${caseNo}`));
    const spellings = [
      join(dir, 'link.sgai'),
      join(dir, 'hard.sgai'),
      input,
      `${dir}/sub/../photo.jpg`,
      `${dir}//./photo.jpg`,
      relative(process.cwd(), input),
      join(base, `alias-${caseNo}`, 'photo.jpg'),
    ];
    for (const out of spellings) {
      for (const force of [true, false]) {
        await expectSgaiError(preflightOutput(out, { force, inputs: [input] }), 'INVALID_ARGUMENT', refused(input));
        await expectSgaiError(writeFileSafely(out, randomBytes(50), { force, inputs: [input] }), 'INVALID_ARGUMENT', refused(input));
      }
    }
    // The input named through a link is still the input.
    await expectSgaiError(writeFileSafely(input, randomBytes(50), { force: true, inputs: [join(dir, 'link.sgai')] }), 'INVALID_ARGUMENT', 'it is the input photo');
    expect(lstatSync(join(dir, 'link.sgai')).isSymbolicLink()).toBe(true);
    unchanged(['link.sgai', 'hard.sgai', 'sub']);
  });

  it('a link to the input appearing during the encode is caught right before the rename', async () => {
    for (const make of [linkSync, symlinkSync]) {
      const { dir, input, out, unchanged } = ids();
      const t = await preflightOutput(out, { force: true, inputs: [input] });
      make(input, out);
      await expectSgaiError(writeFileSafely(t, randomBytes(50)), 'INVALID_ARGUMENT', refused(input));
      expect(readFileSync(out)).toEqual(readFileSync(input));
      expect(hashFile(input)).toBe(sha(randomBytes(4096, 1)));
      expectFolder(dir, ['photo.jpg', 'out.sgai']);
      rmSync(out);
      unchanged();
    }
  });

  it('a symlink to some other file is followed: the file it points to is replaced, the link stays', async () => {
    const { dir, input, unchanged } = ids();
    mkdirSync(join(dir, 'store'));
    writeFileSync(join(dir, 'store', 'real.sgai'), 'old');
    symlinkSync(join(dir, 'store', 'real.sgai'), join(dir, 'link.sgai'));
    symlinkSync(join(dir, 'store', 'dangling.sgai'), join(dir, 'dangling.sgai'));
    const t = await preflightOutput(join(dir, 'link.sgai'), { force: true, inputs: [input] });
    expect(t.path).toBe(join(dir, 'store', 'real.sgai'));
    const data = randomBytes(300, 12);
    await writeFileSafely(t, data);
    expect(lstatSync(join(dir, 'link.sgai')).isSymbolicLink()).toBe(true);
    expect(sha(readFileSync(join(dir, 'link.sgai')))).toBe(sha(data));
    await writeFileSafely(join(dir, 'dangling.sgai'), data, { inputs: [input] });
    expect(sha(readFileSync(join(dir, 'store', 'dangling.sgai')))).toBe(sha(data));
    expectFolder(join(dir, 'store'), ['real.sgai', 'dangling.sgai']);
    unchanged(['store', 'link.sgai', 'dangling.sgai']);
  });

  it('writeImageFile refuses to overwrite the file it decodes from', async () => {
    const { dir, input, unchanged } = ids();
    const img: RasterImage = { width: 2, height: 2, bitDepth: 8, data: new Uint8Array(12).fill(128) };
    await expectSgaiError(writeImageFile(input, img, { format: 'jpeg', inputs: [input] }), 'INVALID_ARGUMENT', refused(input));
    await writeImageFile(join(dir, 'ok.png'), img, { format: 'png', inputs: [input] });
    unchanged(['ok.png']);
  });
});

describe('other errors name the final path in plain words', () => {
  it('missing folder, folder that is a file, output that is a folder', async () => {
    const dir = freshDir();
    await expectSgaiError(preflightOutput(join(dir, 'nope', 'x.sgai')), 'IO', `the folder ${join(dir, 'nope')} does not exist`);
    await expectSgaiError(writeFileSafely(join(dir, 'nope', 'x.sgai'), randomBytes(9)), 'IO', `the folder ${join(dir, 'nope')} does not exist`);
    writeFileSync(join(dir, 'file'), 'x');
    await expectSgaiError(writeFileSafely(join(dir, 'file', 'x.sgai'), randomBytes(9)), 'IO', `${join(dir, 'file')} is not a folder`);
    mkdirSync(join(dir, 'x.sgai'));
    await expectSgaiError(writeFileSafely(join(dir, 'x.sgai'), randomBytes(9), { force: true }), 'IO', `${join(dir, 'x.sgai')} is a folder`);
    // The folder was a file at preflight time... and the name turns into a folder during the encode.
    const t = await preflightOutput(join(dir, 'y.sgai'));
    mkdirSync(join(dir, 'y.sgai'));
    await expectSgaiError(writeFileSafely(t, randomBytes(9), { force: true }), 'IO', `${join(dir, 'y.sgai')} is a folder`);
    await expectSgaiError(preflightOutput('/dev/null', { force: true }), 'IO', 'could not write /dev/null');
    expectFolder(dir, ['file', 'x.sgai', 'y.sgai']);
  });

  it('EFBIG, EIO and unknown errors (injected fs) never mention the temp file', async () => {
    const dir = freshDir();
    const s = scene(dir);
    const at = (code: string) => faulty({ write: async () => Promise.reject(errno(code)) });
    await expectSgaiError(writeFileSafely(s.out, randomBytes(99), { force: true, fs: at('EFBIG') }), 'IO', `${s.out} would exceed the file-size limit of this shell (ulimit -f)`);
    await expectSgaiError(writeFileSafely(s.out, randomBytes(99), { force: true, fs: at('EIO') }), 'IO', `could not write ${s.out}: the disk reported a read/write error`);
    const weird = faulty({
      rename: async (from) => Promise.reject(Object.assign(new Error(`EWEIRD: strange failure, rename '${from}'`), { code: 'EWEIRD' })),
    });
    await expectSgaiError(writeFileSafely(s.out, randomBytes(99), { force: true, fs: weird }), 'IO', `could not write ${s.out}: strange failure`);
    s.unchanged();
  });

  it.runIf(CAN_PRLIMIT)('[real, child under prlimit --fsize=64k] EFBIG: a message and exit 5, not a silent death (153); no file left', () => {
    const dir = freshDir();
    const s = scene(dir, 'out.sgai', 1000);
    const limit = ['prlimit', '--fsize=65536', '--'];
    // Control: with SIGXFSZ at its default action, a plain write kills the process.
    const ctl = child(['raw', join(dir, 'raw.bin'), '300000', 'dfl'], limit);
    expect(ctl.signal === 'SIGXFSZ' || ctl.status === 153, `control run: status ${ctl.status}, signal ${ctl.signal}`).toBe(true);
    rmSync(join(dir, 'raw.bin'), { force: true });
    for (const [out, force] of [[s.out, '1'], [join(dir, 'new.sgai'), '0']]) {
      const r = child(['write', out, '300000', force, 'dfl'], limit);
      expect(r.signal, r.stderr).toBeNull();
      expect(r.status).toBe(5);
      expect(r.report).toEqual({ ok: false, code: 'IO', message: `${out} would exceed the file-size limit of this shell (ulimit -f)` });
    }
    s.unchanged();
  });
});

describe('cancel and verify', () => {
  it('an abort during the write → CANCELLED, nothing left, the old file intact', async () => {
    const dir = freshDir();
    const s = scene(dir);
    const ctrl = new AbortController();
    let calls = 0;
    const fs = faulty({
      write: (fd, buf, off, len, pos) => {
        if (++calls === 3) ctrl.abort();
        return nodeFs.write(fd, buf, off, Math.min(len, 100), pos);
      },
    });
    await expectSgaiError(writeFileSafely(s.out, randomBytes(3000), { fs, force: true, signal: ctrl.signal }), 'CANCELLED', s.out);
    expect(calls).toBe(3);
    await expectSgaiError(writeFileSafely(join(dir, 'new.sgai'), randomBytes(3000), { signal: ctrl.signal }), 'CANCELLED', join(dir, 'new.sgai'));
    const late = new AbortController();
    await expectSgaiError(
      writeFileSafely(s.out, randomBytes(3000), { force: true, signal: late.signal, verify: () => late.abort() }),
      'CANCELLED',
      s.out,
    );
    s.unchanged();
  });

  it('a failing verify hook → IO, no final file, the old file intact', async () => {
    const dir = freshDir();
    const s = scene(dir);
    let seen: Uint8Array | undefined;
    const data = randomBytes(500, 13);
    const verify = (b: Uint8Array) => {
      seen = b;
      throw new Error('not an .sgai');
    };
    await expectSgaiError(writeFileSafely(s.out, data, { force: true, verify }), 'IO', `could not write ${s.out}: the written file failed its check (not an .sgai)`);
    expect(sha(seen!)).toBe(sha(data));
    await expectSgaiError(writeFileSafely(join(dir, 'new.sgai'), data, { verify: async () => Promise.reject(new Error('nope')) }), 'IO', join(dir, 'new.sgai'));
    s.unchanged();
  });

  it('verifySgai: a good .sgai is written; truncated or bit-flipped ones are refused', async () => {
    const dir = freshDir();
    const s = scene(dir);
    const good = encodeSgai(sampleSgai());
    const truncated = good.subarray(0, good.length - 7);
    const flipped = good.slice();
    flipped[good.length >> 1] ^= 0x10;
    for (const bad of [truncated, flipped, randomBytes(200)]) {
      await expectSgaiError(writeFileSafely(s.out, bad, { force: true, verify: verifySgai }), 'IO', `could not write ${s.out}: the written file failed its check`);
      s.unchanged();
    }
    await writeFileSafely(join(dir, 'good.sgai'), good, { verify: verifySgai });
    expect(sha(readFileSync(join(dir, 'good.sgai')))).toBe(sha(good));
  });

  it('verifyImage checks format and size; writeImageFile uses it', async () => {
    const img: RasterImage = { width: 5, height: 3, bitDepth: 8, data: new Uint8Array(45).fill(200) };
    const png = await encodeImage(img, { format: 'png' });
    await verifyImage(png, { format: 'png', width: 5, height: 3 });
    await expect(verifyImage(png, { format: 'jpeg', width: 5, height: 3 })).rejects.toThrow(/expected a 5x3 JPEG/);
    await expect(verifyImage(png, { format: 'png', width: 3, height: 5 })).rejects.toThrow(/got 5x3 png/);
    await expect(verifyImage(png.subarray(0, 30), { format: 'png', width: 5, height: 3 })).rejects.toThrow(SgaiError);
    const dir = freshDir();
    await writeImageFile(join(dir, 'a.png'), img, { format: 'png' });
    await writeImageFile(join(dir, 'a.jpg'), img, { format: 'jpeg', force: false });
    await expectSgaiError(writeImageFile(join(dir, 'a.jpg'), img, { format: 'jpeg', force: false }), 'INVALID_ARGUMENT', 'exists; pass --force');
    expectFolder(dir, ['a.png', 'a.jpg']);
  });
});

describe('temp files at process exit', () => {
  it('removeLiveTempFiles() deletes a temp file whose write is stalled', async () => {
    const dir = freshDir();
    const s = scene(dir);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const writing = new Promise<void>((r) => (started = r));
    const ctrl = new AbortController();
    const fs = faulty({
      write: async (fd, buf, off, len, pos) => {
        const n = await nodeFs.write(fd, buf, off, Math.min(len, 10), pos);
        started();
        await gate;
        return n;
      },
    });
    const p = writeFileSafely(s.out, randomBytes(1000), { fs, force: true, signal: ctrl.signal });
    await writing;
    expect(liveTempFiles()).toHaveLength(1);
    expect(readdirSync(dir).filter((n) => n.startsWith('.out.sgai.sgai-tmp-'))).toHaveLength(1);
    removeLiveTempFiles();
    expect(liveTempFiles()).toEqual([]);
    s.unchanged();
    ctrl.abort();
    release();
    await expectSgaiError(p, 'CANCELLED', s.out);
    s.unchanged();
  });

  it('a real child killed with SIGTERM mid-write (CLI-style handler calls process.exit) leaves no temp file', async () => {
    const dir = freshDir();
    const s = scene(dir, 'out.sgai', 0);
    const p = spawn(process.execPath, ['--import', TSX_LOADER, CHILD, 'hang', s.out], { cwd: base, env: { ...process.env, TSX_DISABLE_CACHE: '1' } });
    try {
      let out = '';
      const exited = new Promise<number | null>((res) => p.on('close', (code) => res(code)));
      await new Promise<void>((res, rej) => {
        p.stdout.on('data', (d) => {
          out += d;
          if (out.includes('"writing"')) res();
          if (out.includes('"ok"')) rej(new Error(`child did not start writing: ${out}`));
        });
        p.on('close', () => rej(new Error(`child ended early: ${out}`)));
      });
      const live = JSON.parse(out.trim().split('\n')[0]).writing as string[];
      expect(live).toHaveLength(1);
      expect(existsSync(live[0])).toBe(true);
      p.kill('SIGTERM');
      expect(await exited).toBe(130);
      expect(existsSync(live[0])).toBe(false);
    } finally {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); // never leak a stalled child
    }
    s.unchanged();
  }, 60_000);
});

/** A small but complete .sgai (every optional chunk), as in format-fuzz.test.ts. */
function sampleSgai(): SgaiFile {
  const r = mulberry32(1);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => (r() * 256) | 0);
  return {
    header: {
      modelId: 'mbt2018-mean-q4',
      weightsSha256: bytes(32),
      width: 300,
      height: 130,
      tileSize: 128,
      channelsN: 128,
      channelsM: 192,
      sourceBitDepth: 8,
      hadAlpha: false,
      originalOrientation: 1,
    },
    zStream: bytes(64),
    yStreams: Array.from({ length: 6 }, (_, i) => bytes(40 + 11 * i)),
    refine: { method: 'sga+', lambda: 0.0067, iterations: 500, tau: 0.5 },
  };
}
