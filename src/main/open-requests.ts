/**
 * The .sgai files the app is asked to open, wherever the asking comes from: the command line at
 * start, a double-click (Windows and Linux start the app with the path; macOS sends `open-file`,
 * often before the app is ready), a second launch while this one runs (`second-instance`, with
 * its argv and working folder), and File > Open.
 *
 * Until the window's page is listening they wait in a queue, which the page takes with
 * app:pending-opens (calling it is how the page says it is ready). From then on each request goes
 * to that page as a viewer:open-request event. A page in a new window (the old one was closed)
 * starts over: requests queue again, and the window is opened for them.
 *
 * The paths come from the OS or from a dialog the user answered, so the viewer may read them: each
 * file's folder is allowed (PathGuard.allowRoot; the desktop app's guard allows anywhere anyway,
 * see host-handlers.ts).
 */
import { dirname } from 'node:path';
import { EVENT_CHANNEL } from '../preload/channels';
import { sgaiPathOf, sgaiPathsFromArgv, type OpenArgsOptions } from './open-args';

/** The parts of a BrowserWindow the requests are sent through. */
export interface OpenWindowLike {
  isDestroyed(): boolean;
  readonly webContents: { send(channel: string, ...args: unknown[]): void; isDestroyed(): boolean };
}

export interface OpenRequestDeps {
  /** The app window now (null while none is open). */
  window: () => OpenWindowLike | null;
  /** Brings the window forward, opening one when none is open (once the app is ready). */
  showWindow: () => void;
  /** Lets the viewer read a folder the user opened a file from. */
  allowRoot: (folder: string) => void;
  log: (line: string) => void;
}

export class OpenRequests {
  private queue: string[] = [];
  /** The window whose page took the queue: it hears later requests as events. */
  private listening: OpenWindowLike | null = null;

  constructor(private readonly deps: OpenRequestDeps) {}

  /** Opens these .sgai files (already checked: absolute, existing) in the viewer; `from` is for the log. */
  open(paths: readonly string[], from: string): void {
    if (paths.length === 0) return;
    for (const p of paths) this.deps.allowRoot(dirname(p));
    const win = this.deps.window();
    if (win && win === this.listening && !win.isDestroyed() && !win.webContents.isDestroyed()) {
      for (const path of paths) win.webContents.send(EVENT_CHANNEL, 'viewer:open-request', { path });
      this.deps.log(`opening ${describe(paths)} (from ${from})`);
    } else {
      for (const p of paths) if (!this.queue.includes(p)) this.queue.push(p);
      this.deps.log(`opening ${describe(paths)} (from ${from}) once the window is ready`);
    }
    this.deps.showWindow();
  }

  /** app:pending-opens: what waited, and from now on this window's page hears requests as events. */
  drain(): string[] {
    this.listening = this.deps.window();
    const out = this.queue;
    this.queue = [];
    return out;
  }

  /** Brings the window forward (a second launch without files). */
  focus(): void {
    this.deps.showWindow();
  }

  /** What waits (for tests and the log). */
  get pending(): readonly string[] {
    return this.queue;
  }
}

const describe = (paths: readonly string[]) => (paths.length === 1 ? paths[0] : `${paths.length} .sgai files`);

/** The parts of Electron's `app` the open paths arrive through. */
export interface OpenAppLike {
  on(event: 'open-file', listener: (event: { preventDefault(): void }, path: string) => void): unknown;
  on(event: 'second-instance', listener: (event: unknown, argv: string[], workingDirectory: string) => void): unknown;
}

export interface OpenListenOptions extends Pick<OpenArgsOptions, 'isFile' | 'platform' | 'hasAppPath'> {
  /** This launch's command line and working folder. */
  argv: readonly string[];
  cwd: string;
  log: (line: string) => void;
}

/**
 * Queues what this launch's command line names, and listens for the OS and for second launches.
 * Call it before the app is ready: macOS sends `open-file` for a double-clicked file right away.
 */
export function listenForOpens(app: OpenAppLike, requests: OpenRequests, o: OpenListenOptions): void {
  const args = { isFile: o.isFile, platform: o.platform, log: o.log };
  requests.open(sgaiPathsFromArgv(o.argv, { ...args, cwd: o.cwd, hasAppPath: o.hasAppPath }), 'the command line');

  app.on('open-file', (event, path) => {
    // Handled here: without preventDefault macOS reports that the app could not open the file.
    event.preventDefault();
    const abs = sgaiPathOf(path, { ...args, cwd: o.cwd });
    if (abs) requests.open([abs], 'the system');
  });

  app.on('second-instance', (_event, argv, workingDirectory) => {
    // The second launch quits at once (it did not get the lock); its paths are relative to where it was started.
    const paths = sgaiPathsFromArgv(argv, { ...args, cwd: workingDirectory, hasAppPath: o.hasAppPath });
    if (paths.length) return requests.open(paths, 'a second launch');
    o.log('sgai was launched again: showing this window');
    requests.focus();
  });
}
