/**
 * `sgai import-model`: turns a CompressAI mbt2018-mean checkpoint (.pth / .pth.tar, anything
 * torch.save wrote) into an installed sgai model (<id>.safetensors + <id>.json card).
 *
 * Reading a PyTorch pickle needs PyTorch, so the conversion is done by the Python converter in
 * training/ (sgai_train.import_compressai); the compressai package itself is not needed. The
 * result is then loaded exactly as the codec loads models, so a model that imports is a model
 * that encodes, and a file the codec cannot use is removed again rather than left installed.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { listModels, type LoadedModel, loadModelFromPath, modelDirs, packageRoot, SgaiError, USER_MODELS_DIR } from '../core';

export interface ImportModelOptions {
  /** The CompressAI checkpoint. */
  checkpoint: string;
  /** Model id (file name stem); the converter derives one from N, M, lambda and the file hash when absent. */
  id?: string;
  /** MSE lambda the checkpoint was trained with (checkpoints do not record it). */
  lambda?: number;
  /** CompressAI quality index 1..8 (sets lambda from CompressAI's table). */
  quality?: number;
  /** Where to install; default the user's models folder (~/.sgai/models). */
  outDir?: string;
  /** Replace an existing model file with the same id. */
  force?: boolean;
  /** Python interpreter; default $SGAI_PYTHON, else /usr/bin/python3 when present, else python3 on PATH. */
  python?: string;
}

export interface ImportedModel {
  id: string;
  weightsPath: string;
  cardPath: string;
  model: LoadedModel;
  /** Things the user should know (model folder not searched, id shadowed by another model). */
  notes: string[];
}

/** Exit codes of sgai_train.import_compressai (see its docstring). */
const CONVERTER_EXIT = { usage: 2, unsupported: 3, unreadable: 4, write: 5 } as const;

const INSTALL_HINT =
  'install Python 3 with PyTorch (Debian/Ubuntu: sudo apt-get install python3-torch; elsewhere: pip install torch), ' +
  'or point SGAI_PYTHON at a python3 that has it';

/** Debian's python3-torch lives in /usr/bin/python3; a python3 earlier on PATH (pyenv, venv) often lacks it. */
export function defaultPython(): string {
  const env = process.env.SGAI_PYTHON;
  if (env) return env;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

function converterDir(): string {
  return join(packageRoot(), 'training');
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(python: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((res, rej) => {
    const p = spawn(python, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        rej(new SgaiError('INVALID_ARGUMENT', `import-model needs Python 3 to read PyTorch checkpoints, and ${python} was not found; ${INSTALL_HINT}`));
      } else {
        rej(new SgaiError('INVALID_ARGUMENT', `cannot run ${python}: ${e.message}; ${INSTALL_HINT}`));
      }
    });
    p.on('close', (code, signal) => res({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** The converter's own one-line message(s), without Python's traceback noise. */
function converterMessage(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const own = lines.filter((l) => l.startsWith('import_compressai: ')).map((l) => l.slice('import_compressai: '.length));
  if (own.length) return own.join('; ');
  const usage = lines.filter((l) => /error:/.test(l)); // argparse
  return (usage.length ? usage : lines.slice(-3)).join('; ');
}

interface ConverterOutput {
  id: string;
  weights: string;
  card: string;
}

function parseOutput(stdout: string): ConverterOutput {
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    const o = JSON.parse(last) as Partial<ConverterOutput>;
    if (typeof o.id === 'string' && typeof o.weights === 'string' && typeof o.card === 'string') return { id: o.id, weights: o.weights, card: o.card };
  } catch {
    /* reported below */
  }
  throw new Error(`the converter succeeded but printed no result line (stdout: ${stdout.slice(-300)})`);
}

export async function importModel(opts: ImportModelOptions): Promise<ImportedModel> {
  const checkpoint = resolve(opts.checkpoint);
  if (!existsSync(checkpoint)) throw new SgaiError('IO', `cannot read ${opts.checkpoint}: no such file`);
  if (!statSync(checkpoint).isFile()) throw new SgaiError('IO', `cannot read ${opts.checkpoint}: not a file`);
  if (opts.lambda !== undefined && !(opts.lambda > 0 && Number.isFinite(opts.lambda))) {
    throw new SgaiError('INVALID_ARGUMENT', `--lambda must be a positive number (got ${opts.lambda})`);
  }
  if (opts.quality !== undefined && !(Number.isInteger(opts.quality) && opts.quality >= 1 && opts.quality <= 8)) {
    throw new SgaiError('INVALID_ARGUMENT', `--quality must be a CompressAI quality index 1..8 (got ${opts.quality})`);
  }
  const training = converterDir();
  if (!existsSync(join(training, 'sgai_train', 'import_compressai.py'))) {
    throw new SgaiError('INVALID_ARGUMENT', `import-model needs the sgai training package (${join(training, 'sgai_train')}), which this installation does not include; run it from a source checkout of sgai`);
  }
  const outDir = resolve(opts.outDir ?? USER_MODELS_DIR);
  const python = opts.python ?? defaultPython();
  const args = ['-m', 'sgai_train.import_compressai', checkpoint, '--out-dir', outDir];
  if (opts.id !== undefined) args.push('--id', opts.id);
  if (opts.lambda !== undefined) args.push('--lambda', String(opts.lambda));
  if (opts.quality !== undefined) args.push('--quality', String(opts.quality));
  if (opts.force) args.push('--force');
  const pythonPath = [training, process.env.PYTHONPATH].filter(Boolean).join(':');
  const r = await run(python, args, { ...process.env, PYTHONPATH: pythonPath, PYTHONDONTWRITEBYTECODE: '1' });

  if (r.code !== 0) {
    const missing = /No module named '(torch|numpy)'/.exec(r.stderr);
    if (missing) throw new SgaiError('INVALID_ARGUMENT', `import-model needs PyTorch to read checkpoints, but ${python} has no ${missing[1]} module; ${INSTALL_HINT}`);
    const msg = converterMessage(r.stderr);
    switch (r.code) {
      case CONVERTER_EXIT.usage:
        throw new SgaiError('INVALID_ARGUMENT', msg);
      case CONVERTER_EXIT.unsupported:
      case CONVERTER_EXIT.unreadable:
        // The converter's messages usually name the file already.
        throw new SgaiError('BAD_WEIGHTS', msg.includes(basename(checkpoint)) ? msg : `cannot import ${opts.checkpoint}: ${msg}`);
      case CONVERTER_EXIT.write:
        throw new SgaiError('IO', msg);
      default:
        throw new Error(`the checkpoint converter (${python} -m sgai_train.import_compressai) failed with exit code ${r.code}: ${msg}`);
    }
  }

  const out = parseOutput(r.stdout);
  let model: LoadedModel;
  try {
    model = loadModelFromPath(out.weights);
  } catch (e) {
    // Do not leave a model installed that the codec would trip over later.
    rmSync(out.weights, { force: true });
    rmSync(out.card, { force: true });
    const why = e instanceof Error ? e.message : String(e);
    throw new SgaiError('BAD_WEIGHTS', `converted ${opts.checkpoint}, but sgai cannot load the result: ${why}`);
  }
  const notes: string[] = [];
  if (!modelDirs().includes(outDir)) {
    notes.push(`${outDir} is not a model folder sgai searches; add it to SGAI_MODELS_DIR or pass --model ${out.weights} to encode`);
  } else {
    const first = listModels().find((m) => m.card.id === out.id);
    if (first && resolve(first.weightsPath) !== resolve(out.weights)) {
      notes.push(`another model with id "${out.id}" (${first.weightsPath}) is found first and takes precedence; re-import with a different --id`);
    }
  }
  return { id: out.id, weightsPath: out.weights, cardPath: out.card, model, notes };
}

/** Options of the import-model command as parsed by the CLI (all strings, as typed). */
export interface ImportModelCliValues {
  id?: string;
  'out-dir'?: string;
  lambda?: string;
  quality?: string;
  force?: boolean;
}

function numberArg(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new SgaiError('INVALID_ARGUMENT', `--${name} got an invalid value "${v}"\nRun "sgai --help" for usage.`);
  return n;
}

/** The CLI command: prints the imported model's id on stdout, details on stderr. */
export async function importModelCommand(args: string[], values: ImportModelCliValues): Promise<number> {
  const checkpoint = args[0];
  if (!checkpoint) throw new SgaiError('INVALID_ARGUMENT', 'import-model needs a CompressAI checkpoint (.pth / .pth.tar)\nRun "sgai --help" for usage.');
  if (args.length > 1) throw new SgaiError('INVALID_ARGUMENT', `import-model takes one checkpoint (got ${args.length})\nRun "sgai --help" for usage.`);
  const r = await importModel({
    checkpoint, id: values.id, outDir: values['out-dir'], force: values.force ?? false,
    lambda: numberArg(values.lambda, 'lambda'), quality: numberArg(values.quality, 'quality'),
  });
  const c = r.model.card;
  process.stderr.write(`imported ${c.id}: mean-scale hyperprior N=${c.N}, M=${c.M}, lambda=${c.lambda}${c.quality ? ` (CompressAI quality ${c.quality})` : ''}\n  ${r.weightsPath}\n  ${r.cardPath}\n`);
  for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
  process.stdout.write(`${r.id}\n`);
  return 0;
}
