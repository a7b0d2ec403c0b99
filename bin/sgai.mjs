#!/usr/bin/env node
// Runs the TypeScript CLI in this same process through tsx's loader (no child process), so
// Ctrl-C and kill reach the CLI's own handlers, which cancel cleanly and report it. (tsx's
// command-line wrapper would SIGKILL a child that is busy in a long computation.)
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/cli/main.ts', import.meta.url).href);
