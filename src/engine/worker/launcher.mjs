// Starts an encoder process from the TypeScript sources through tsx's loader, as bin/sgai.mjs
// does for the CLI. A packaged app starts its built entry.js instead (see entry-path.ts).
import { register } from 'tsx/esm/api';

register();
await import(new URL('./entry.ts', import.meta.url).href);
