// Starts the viewer's decoder process from the TypeScript sources through tsx's loader, as
// bin/sgai.mjs does for the CLI. A built app starts its decoder.js instead (see decoder-entry-path.ts).
import { register } from 'tsx/esm/api';

register();
await import(new URL('./decoder-entry.ts', import.meta.url).href);
