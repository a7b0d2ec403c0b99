import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  // Main, the engine process (utilityProcess), the encoder processes and the viewer's decoder process
  // (both forked by the engine) are built together into out/main, so the app starts plain JS files, in
  // dev as when packaged (no tsx); the engine finds decoder.js beside worker.js. Dependencies
  // stay external (electron-vite's default): sharp, onnxruntime-node and the tfjs packages are native
  // or wasm and load from node_modules (asar-unpacked in the packaged app, build/electron-builder.yml).
  main: {
    build: {
      externalizeDeps: true,
      rollupOptions: {
        input: {
          index: resolve('src/main/index.ts'),
          engine: resolve('src/engine/service/process.ts'),
          worker: resolve('src/engine/worker/entry.ts'),
          decoder: resolve('src/engine/service/viewer/decoder-entry.ts'),
          // The viewer's PSNR / MS-SSIM thread (found beside worker.js, like decoder.js).
          metrics: resolve('src/engine/service/viewer/metrics-worker.ts'),
        },
      },
    },
  },
  // Sandboxed preloads must be CommonJS and cannot require packages: zod (the contract's schemas)
  // is bundled in, only 'electron' stays external.
  preload: {
    build: {
      externalizeDeps: false,
      rollupOptions: { input: { index: resolve('src/preload/index.ts') }, output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: { root: resolve('src/renderer'), plugins: [svelte()], build: { rollupOptions: { input: { index: resolve('src/renderer/index.html') } } } },
});
