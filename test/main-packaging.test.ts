/**
 * Packaging without packaging (electron-builder needs to download Electron): the builder config
 * parses and passes electron-builder's own schema validation, what it names exists, the icon is a
 * 512×512 PNG drawn from icon.svg, and electron-vite builds the engine and encoder entries beside main.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import picomatch from 'picomatch';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import viteConfig from '../electron.vite.config';

const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(s: string): unknown };
const { validateSchema } = require('app-builder-lib/out/util/config/schemaValidator') as { validateSchema(schema: unknown, data: unknown): void };
const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8'));

const ROOT = join(import.meta.dirname, '..');
const config = yaml.load(readFileSync(join(ROOT, 'build', 'electron-builder.yml'), 'utf8')) as Record<string, unknown> & { files: string[]; asarUnpack: string[] };

function listTree(dir: string, base = ''): string[] {
  if (!existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(ROOT.length + 1 + base.length));
}

describe('electron-builder config', () => {
  it("passes electron-builder's schema, and a wrong key would not", () => {
    expect(() => validateSchema(schema, config)).not.toThrow();
    expect(() => validateSchema(schema, { ...config, linux: { ...(config.linux as object), targets: ['AppImage'] } })).toThrow(/configuration\.linux/);
    expect(config).toMatchObject({ productName: 'sgai', appId: expect.any(String) });
    expect(config.linux).toMatchObject({ target: ['AppImage', 'deb'] });
    expect(config.win).toMatchObject({ target: ['nsis'] });
    expect(config.mac).toMatchObject({ target: ['dmg'] });
    expect(config.fileAssociations).toEqual([expect.objectContaining({ ext: 'sgai' })]);
  });

  it('associates .sgai files with the app on every system, Linux through a MIME type the .desktop entry names', () => {
    expect(config.fileAssociations).toEqual([{ ext: 'sgai', name: 'sgai image', description: expect.any(String), mimeType: 'image/x-sgai', role: 'Viewer' }]);
    // electron-builder writes `Exec=... %U` only when no executableArgs replace it: the path must reach argv.
    const linux = config.linux as { executableArgs?: string[]; desktop?: { entry?: Record<string, string> } };
    expect(linux.executableArgs).toBeUndefined();
    expect(linux.desktop?.entry?.Exec).toBeUndefined();
    expect(linux.desktop?.entry?.MimeType).toBeUndefined(); // not overriding the one built from fileAssociations
  });

  it('packs the built app and the shipped models and sample, which exist', () => {
    expect(config.files).toEqual(expect.arrayContaining(['out/**', 'resources/models/**', 'resources/sample/**']));
    const resources = listTree('resources');
    for (const glob of ['resources/models/**', 'resources/sample/**']) {
      expect(resources.filter(picomatch(glob)).length, glob).toBeGreaterThan(0);
    }
    expect(resources).toEqual(expect.arrayContaining(['resources/models/registry.json']));
  });

  it('unpacks the native and wasm packages that are installed', () => {
    const installed = ['sharp', '@img', 'onnxruntime-node', '@tensorflow/tfjs-backend-wasm'];
    for (const pkg of installed) {
      const files = listTree(join('node_modules', pkg));
      const unpacked = files.filter((f) => config.asarUnpack.some((g) => picomatch(g)(f)));
      expect(unpacked.length, pkg).toBeGreaterThan(0);
    }
    const wasm = listTree('node_modules/@tensorflow/tfjs-backend-wasm').filter(picomatch('node_modules/@tensorflow/tfjs-backend-wasm/**/*.wasm'));
    expect(wasm.length).toBeGreaterThan(0);
  });

  it("keeps only the target system's ONNX Runtime library in each installer", () => {
    const ort = listTree('node_modules/onnxruntime-node/bin');
    const systems = { linux: 'linux', win: 'win32', mac: 'darwin' } as const;
    for (const [os, dir] of Object.entries(systems)) {
      const excludes = ((config[os] as { files?: string[] }).files ?? []).filter((g) => g.startsWith('!')).map((g) => picomatch(g.slice(1)));
      const kept = ort.filter((f) => !excludes.some((m) => m(f)));
      expect(kept.filter((f) => f.includes(`/${dir}/`)).length, os).toBeGreaterThan(0);
      expect(kept.filter((f) => /\/(linux|win32|darwin)\//.test(f) && !f.includes(`/${dir}/`)), os).toEqual([]);
    }
  });

  it('has a 512×512 icon rendered from icon.svg', async () => {
    const png = await sharp(join(ROOT, 'build', 'icon.png')).metadata();
    expect(png).toMatchObject({ format: 'png', width: 512, height: 512, hasAlpha: true });
    const svg = await sharp(join(ROOT, 'build', 'icon.svg')).metadata();
    expect(svg).toMatchObject({ format: 'svg', width: 512, height: 512 });
    for (const os of ['linux', 'win', 'mac'] as const) expect((config[os] as { icon: string }).icon).toBe('build/icon.png');
  });
});

describe('electron-vite config', () => {
  it('builds main, the engine process, the encoder process and the viewer\'s decoder process from existing sources, preload as CommonJS', async () => {
    const c = (await viteConfig) as unknown as {
      main: { build: { rollupOptions: { input: Record<string, string> } } };
      preload: { build: { externalizeDeps: boolean; rollupOptions: { output: { format: string; entryFileNames: string } } } };
    };
    const input = c.main.build.rollupOptions.input;
    expect(Object.keys(input).sort()).toEqual(['decoder', 'engine', 'index', 'metrics', 'worker']);
    expect(input.decoder).toBe(join(ROOT, 'src/engine/service/viewer/decoder-entry.ts'));
    expect(input.engine).toBe(join(ROOT, 'src/engine/service/process.ts'));
    expect(input.metrics).toBe(join(ROOT, 'src/engine/service/viewer/metrics-worker.ts'));
    expect(input.worker).toBe(join(ROOT, 'src/engine/worker/entry.ts'));
    for (const file of Object.values(input)) expect(existsSync(file), file).toBe(true);
    expect(c.preload.build.rollupOptions.output).toEqual({ format: 'cjs', entryFileNames: '[name].cjs' });
    expect(c.preload.build.externalizeDeps).toBe(false);
  });
});
