// Starts the metrics worker thread from the TypeScript sources through tsx's loader (a worker
// does not inherit the engine's). A built app starts its metrics.js instead (see metrics-thread.ts).
import { register } from 'tsx/esm/api';

register();
await import(new URL('./metrics-worker.ts', import.meta.url).href);
