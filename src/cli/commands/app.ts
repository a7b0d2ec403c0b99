/**
 * `sgai app --browser [folder|file.sgai ...]`: the app in a web browser, served on 127.0.0.1 by
 * this process, with the engine in a child process. Folders are added to the library; .sgai files
 * open in the viewer (and their folders may be read). Ctrl-C stops the server and shuts the engine down cleanly
 * (running photos are cancelled, nothing partial is left), then exits 130.
 */
import { mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SgaiError } from '../../core';
import { ApiError } from '../../ipc/result';
import { type BrowserApp, startBrowserApp } from '../../server/app-server';
import { usage } from '../options';

export const APP_USAGE = `sgai app --browser [folder|file.sgai ...] [--port N] [--allow DIR]... [--data-dir DIR]`;

const NOT_BROWSER = `sgai app: the desktop app is the Electron build: run "npm run dev" from a checkout, or open the installed sgai app.
"sgai app --browser" runs the same app in your web browser instead.`;

export interface AppIo {
  out(line: string): void;
  err(line: string): void;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
}

/** Settings and library: $XDG_CONFIG_HOME/sgai, else ~/.config/sgai. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'sgai');
}

function existingFolder(p: string, what: string): string {
  const abs = resolve(p);
  if (statOf(abs, what).isDirectory()) return abs;
  throw new SgaiError('INPUT_UNREADABLE', `${what} ${abs} is a file, not a folder`);
}

function statOf(abs: string, what: string) {
  try {
    return statSync(abs);
  } catch {
    throw new SgaiError('INPUT_UNREADABLE', `${what} ${abs} does not exist or cannot be read`);
  }
}

/** The command line's folders (added to the library) and .sgai files (opened in the viewer), as absolute paths. */
export function splitAppArgs(args: string[]): { folders: string[]; opens: string[] } {
  const folders: string[] = [];
  const opens: string[] = [];
  for (const a of args) {
    const abs = resolve(a);
    const st = statOf(abs, 'the folder or file');
    if (st.isDirectory()) folders.push(abs);
    else if (st.isFile() && /\.sgai$/i.test(abs)) opens.push(abs);
    else throw new SgaiError('INPUT_UNREADABLE', `${abs} is neither a folder (to add to the library) nor a .sgai file (to view); sgai app takes those`);
  }
  return { folders, opens };
}

export async function appCommand(argv: string[], io: AppIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { browser: { type: 'boolean' }, port: { type: 'string' }, allow: { type: 'string', multiple: true }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.out(`Usage: ${APP_USAGE}`);
    return 0;
  }
  if (!values.browser) {
    io.err(NOT_BROWSER);
    return 2;
  }
  let port = 0;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) usage(`--port needs a port number from 1 to 65535 (got "${values.port}")`);
  }
  const { folders, opens } = splitAppArgs(positionals);
  const roots = values.allow?.length ? values.allow.map((a) => existingFolder(a, 'the --allow folder')) : [homedir()];
  const dataDir = resolve(values['data-dir'] ?? defaultDataDir());
  mkdirSync(dataDir, { recursive: true });

  // SGAI_RENDERER_DIR: a renderer built elsewhere (a packaged layout, or a test's stand-in).
  const rendererDir = process.env.SGAI_RENDERER_DIR || undefined;
  let app: BrowserApp;
  try {
    app = await startBrowserApp({ folders, opens, roots, port, dataDir, rendererDir, log: (l) => io.err(`sgai: ${l}`) });
  } catch (e) {
    // The engine could not start: its own lines above say why; this one says what to do.
    if (!(e instanceof ApiError)) throw e;
    io.err(`sgai: ${e.message}`);
    return 1;
  }
  io.out(`sgai is running at ${app.url}`);
  io.out('Open that address in your browser (it carries this run\'s access key, so keep it to yourself).');
  if (opens.length) io.out(`The page opens ${opens.length === 1 ? opens[0] : `${opens.length} .sgai files`} in its viewer.`);
  io.out('Ctrl-C stops the server; running photos are cancelled and nothing partial is left.');
  await new Promise<void>((r) => (io.signal.aborted ? r() : io.signal.addEventListener('abort', () => r(), { once: true })));
  io.err('sgai: stopping the engine...');
  await app.close();
  io.err('sgai: stopped; nothing partial was left');
  return 130;
}
