/**
 * Quitting stops the engine first: the first quit is held (preventDefault) while the engine
 * cancels what runs (nothing partial is left) and exits; then the app quits for real. Ctrl-C in
 * the terminal of `npm run dev`, or a system shutdown, takes the same path.
 */
import type { EngineClient } from '../host/engine-client';

/** The parts of Electron's `app` the quit uses. */
export interface QuitAppLike {
  on(event: 'before-quit', listener: (event: { preventDefault(): void }) => void): unknown;
  quit(): void;
}

export interface QuitDeps {
  /** The engine, once started (null before ready: nothing to stop). */
  engine: () => Pick<EngineClient, 'shutdown'> | null;
  /** Hides the window while the engine stops, so the app looks gone at once. */
  hideWindow: () => void;
  /** Last thing before exit: close the log file. */
  closeLog: () => void;
  log: (line: string) => void;
}

export function stopEngineBeforeQuit(app: QuitAppLike, d: QuitDeps): void {
  let state: 'running' | 'stopping-engine' | 'ready-to-exit' = 'running';
  app.on('before-quit', (event) => {
    const engine = d.engine();
    if (state === 'ready-to-exit' || !engine) return d.closeLog();
    event.preventDefault();
    if (state === 'stopping-engine') return;
    state = 'stopping-engine';
    d.log('quitting: stopping the engine (running photos are cancelled, nothing partial is left)');
    d.hideWindow();
    engine
      .shutdown()
      .catch((e: unknown) => d.log(`the engine did not stop cleanly: ${(e as Error)?.message ?? e}`))
      .finally(() => {
        state = 'ready-to-exit';
        app.quit();
      });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());
}
