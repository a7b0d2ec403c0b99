#!/usr/bin/env node
/**
 * `sgai` command line: parse, refuse what does not apply, dispatch, and turn every outcome into
 * one readable line and an exit code. Exit codes are part of the interface: 0 ok, 1 unexpected
 * failure, 2 usage error, 3 unreadable/corrupt input, 4 model missing or unusable, 5 cannot
 * write output, 130 cancelled.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BACKEND_REQUESTS, type BackendRequest, describeBackend, initBackend, installWriteGuards, isSgaiError, removeLiveTempFiles, SgaiError, type SgaiErrorCode } from '../core';
import { appCommand } from './commands/app';
import { batchCommand } from './commands/batch';
import { decodeCommand } from './commands/decode';
import { encodeCommand } from './commands/encode';
import { infoCommand } from './commands/info';
import { modelsCommand } from './commands/models';
import type { CommandContext } from './commands/context';
import { importModelCommand } from './import-model';
import { OPTION_SPEC, checkOptionsFor, usage } from './options';
import { progressReporter } from './progress';

const HELP = `sgai - learned image compression for photo libraries

Usage:
  sgai encode <image>... [-o out.sgai | -o FOLDER] [--model ID|PATH] [--tile 512] [--no-preview] [--force]
              [--refine sga|linear|cosine|ssl|linear3|cosine3|ssl3] [--iters 500] [--lambda L]
              [--lr 0.005] [--seed 0] [--time-budget SECONDS]
              [--target-bpp B | --target-size BYTES | --target-psnr DB | --target-msssim S]
              [--flatten] [--first-frame] [--max-megapixels 100] [--metadata all|no-location|copyright] [--exact]
              (--exact: analysis on the wasm reference: the same latents on every machine;
               targets search the installed models, and the refinement lambda with --refine;
               transparent or animated images are refused unless --flatten / --first-frame;
               --metadata: which EXIF/XMP goes into the .sgai: all (default); no-location: no GPS, serial
               numbers or maker notes; copyright: Copyright and Artist only; the colour profile is always kept)
  sgai decode <file.sgai>... [-o out.png|out.jpg | -o FOLDER] [--quality 92] [--bit-depth 8|16]
              [--region x,y,w,h] [--force] [--exact | --fast] [--salvage] [--max-megapixels 100]
              (--exact, the default: the synthesis runs on the wasm reference, same pixels on
               every machine; --fast: on the active backend (ONNX Runtime), several times faster,
               at most one level off at a few pixels per 100,000;
               --salvage: decode what is intact of a damaged file and say what was skipped;
               16-bit sources give 16-bit PNGs unless --bit-depth 8)
  sgai batch <folder|photos>... --out FOLDER [--preset archive|high|balanced|small | --model ID]
              [--include GLOB]... [--exclude GLOB]... [--template '{folder}/{name}']
              [--conflict unique|skip|overwrite] [--min-savings PCT [--copy-original]]
              [--shard k/n] [--workers N] [--follow-symlinks] [--verify] [--report FILE.csv|.json]
              [--target-bpp B | --target-size BYTES | --target-psnr DB | --target-msssim S] [--dry-run] [--json]
              whole folders, resumable: re-running skips what is done (docs/batch.md);
              --workers: encoder processes (default one per core, as memory allows; 0: none);
              --verify: decode every file before it is kept and check it against the original;
              a --target-* is reached per photo over the compact model family (the preset's effort still refines);
              --metadata all|no-location|copyright: as for encode; changing it re-encodes (part of the resume settings)
  sgai info <file.sgai> [--json]      every chunk with its checksum status, also for damaged files
  sgai app --browser [folder|file.sgai ...] [--port N] [--allow DIR]... [--data-dir DIR]
              the app in your web browser, served on 127.0.0.1 only (open the address it prints);
              the folders given are added to the library, the .sgai files open in its viewer (their
              folders may be read too); --allow: folders the page may name (default your home
              folder); --data-dir: settings and library (default ~/.config/sgai);
              without --browser it says how to start the desktop (Electron) app
  sgai models
  sgai import-model <checkpoint.pth> [--id ID] [--lambda L | --quality 1..8] [--out-dir DIR] [--force]
              install a CompressAI mbt2018-mean checkpoint as an sgai model (in ~/.sgai/models
              unless --out-dir; --quality is CompressAI's index; needs python3 with PyTorch)
Options:
  --backend auto|ort|wasm|cpu|tensorflow|tensorflow-gpu   compute backend (default auto: a GPU,
               then ONNX Runtime, then tfjs; SGAI_ORT_THREADS sets ORT's threads, default 1)
  --quiet      no progress on stderr
  -h, --help   this help;  --version  print the version
Ctrl-C cancels: nothing is written for the photo in progress.
Exit codes: 0 ok, 1 unexpected error, 2 usage, 3 bad input, 4 model missing, 5 cannot write, 130 cancelled.`;

const EXIT: Partial<Record<SgaiErrorCode, number>> = {
  INVALID_ARGUMENT: 2,
  TRUNCATED: 3, BAD_MAGIC: 3, UNSUPPORTED_VERSION: 3, CHECKSUM: 3, CORRUPT: 3, UNKNOWN_REQUIRED_CHUNK: 3,
  UNSUPPORTED_IMAGE: 3, IMAGE_TOO_LARGE: 3, INPUT_UNREADABLE: 3,
  MODEL_NOT_INSTALLED: 4, BAD_WEIGHTS: 4,
  IO: 5, BUSY: 5, VERIFY_FAILED: 5,
  CANCELLED: 130,
};
const exitCode = (e: SgaiError) => EXIT[e.code] ?? 1;
const line = (stream: NodeJS.WriteStream) => (s: string) => stream.write(`${s}\n`);

let ranCommand = '';

/**
 * First Ctrl-C / SIGTERM: cancel cooperatively. Another one later: remove temp files and leave
 * now. A repeat within a second is the same press (a terminal signals the whole process group,
 * and bin/sgai.mjs forwards what it receives as well).
 */
function cancelOnSignals(ctrl: AbortController): void {
  let first = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (ctrl.signal.aborted && Date.now() - first < 1000) return;
    if (ctrl.signal.aborted) {
      removeLiveTempFiles();
      process.stderr.write(`\nsgai: stopped (${sig}); no partial file was left\n`);
      process.exit(130);
    }
    first = Date.now();
    process.stderr.write('\nsgai: cancelling...\n');
    ctrl.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function main(argv: string[]): Promise<number> {
  // The app parses its own options (none of the codec's apply to it).
  if (argv[0] === 'app') {
    ranCommand = 'app';
    const ctrl = new AbortController();
    cancelOnSignals(ctrl);
    return appCommand(argv.slice(1), { out: line(process.stdout), err: line(process.stderr), signal: ctrl.signal });
  }
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTION_SPEC });
  if (values.version) {
    process.stdout.write(`${JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version}\n`);
    return 0;
  }
  const [cmd, ...args] = positionals;
  ranCommand = cmd ?? '';
  if (values.help || !cmd) {
    process.stdout.write(`${HELP}\n`);
    return values.help ? 0 : 2;
  }
  checkOptionsFor(cmd, values);
  const ctrl = new AbortController();
  cancelOnSignals(ctrl);
  const progress = progressReporter(!values.quiet);
  const ctx: CommandContext = {
    out: line(process.stdout),
    err: line(process.stderr),
    progress,
    signal: ctrl.signal,
    exitCode,
    needBackend: async () => {
      const req = (values.backend ?? 'auto') as BackendRequest;
      if (!BACKEND_REQUESTS.includes(req)) usage(`unknown --backend ${req} (use ${BACKEND_REQUESTS.join(', ')})`);
      const b = await initBackend(req);
      process.stderr.write(`backend: ${describeBackend(b)}\n`);
    },
  };
  switch (cmd) {
    case 'encode':
      if (!args.length) usage('encode needs an input image');
      return encodeCommand(args, values, ctx);
    case 'decode':
      if (!args.length) usage('decode needs an .sgai file');
      return decodeCommand(args, values, ctx);
    case 'info':
      if (args.length !== 1) usage(args.length ? 'info takes one .sgai file' : 'info needs an .sgai file');
      return infoCommand(args[0], values.json === true, ctx);
    case 'models':
      if (args.length) usage('models takes no arguments');
      return modelsCommand(ctx);
    case 'batch':
      return batchCommand(args, values, ctx);
    case 'import-model':
      return importModelCommand(args, values);
    default:
      usage(`unknown command "${cmd}"`);
  }
}

function reportPeakRss(): void {
  // maxRSS is in kilobytes; printed so large-photo runs can be checked against memory targets.
  process.stderr.write(`peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MB\n`);
}

/** Every failure ends as one line a user can read; the stack only with SGAI_DEBUG=1. */
function fail(e: unknown): never {
  removeLiveTempFiles();
  process.stderr.write('\n');
  if (isSgaiError(e)) {
    process.stderr.write(e.code === 'CANCELLED' ? `sgai: cancelled (${e.message}); no partial file was left\n` : `sgai: ${e.message}\n`);
    process.exit(exitCode(e));
  }
  const err = e as NodeJS.ErrnoException;
  if (err instanceof TypeError && /^ERR_PARSE_ARGS/.test(String(err.code))) {
    process.stderr.write(`sgai: ${err.message}\nRun "sgai --help" for usage.\n`);
    process.exit(2);
  }
  const where = process.env.SGAI_DEBUG ? `\n${err?.stack ?? ''}` : ' (set SGAI_DEBUG=1 for details)';
  process.stderr.write(`sgai: unexpected error: ${String(err?.message ?? e).split('\n')[0]}${where}\n`);
  process.exit(1);
}

installWriteGuards();
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
main(process.argv.slice(2)).then(
  (code) => {
    if (code === 0 && (ranCommand === 'encode' || ranCommand === 'decode')) reportPeakRss();
    process.exit(code);
  },
  fail,
);
