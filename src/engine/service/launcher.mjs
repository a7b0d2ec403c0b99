// Starts the app's engine process from the TypeScript sources through tsx's loader, as
// bin/sgai.mjs does for the CLI. A packaged app starts its built engine entry instead (see entry-path.ts).
import { register } from 'tsx/esm/api';

register();
await import(new URL('./process.ts', import.meta.url).href);
