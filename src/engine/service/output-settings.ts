/**
 * A library folder's OutputSettings (what the app shows) in the batch engine's terms: the plan
 * (BatchSpec: where and how outputs are named) and the encode (EncodeSettings: model, effort,
 * target, metadata policy), plus the defaults a newly added folder gets.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { loadModel, type LoadedModel, type QualityTarget, SgaiError } from '../../core';
import type { OutputSettings } from '../../ipc/schemas';
import { checkTemplate } from '../naming';
import type { BatchSpec } from '../plan';
import { compactFamily, EFFORTS, resolvePreset } from '../presets';
import type { EncodeSettings, MinSavings } from '../run';
import { realFolder } from '../scan';

/** Where a new folder's outputs go: under the default output folder, or '<folder> (sgai)' beside it. */
export function defaultOutputSettings(folder: string, defaultOutput: string | null): OutputSettings {
  const name = basename(folder) || 'photos';
  return {
    destination: { kind: 'folder', path: defaultOutput ? join(defaultOutput, name) : join(dirname(folder), `${name} (sgai)`) },
    keepTree: true,
    template: '',
    conflict: 'unique',
    minSavingsPercent: 10,
    copyIfNoSavings: false,
    metadata: 'all',
    quality: { kind: 'preset', preset: 'balanced' },
    effort: 'standard',
    include: [],
    exclude: [],
    verify: false,
  };
}

/** The folder holding the outputs and the manifest: the destination, or the library folder itself (beside). */
export const outRootOf = (folder: string, o: OutputSettings): string => (o.destination.kind === 'folder' ? resolve(o.destination.path) : folder);

/** The naming template: the user's, else one folder for everything when the tree is not kept. */
function templateOf(o: OutputSettings): string | undefined {
  if (o.template) return o.template;
  return o.destination.kind === 'folder' && !o.keepTree ? '{name}' : undefined;
}

/** The {preset} token's value: the preset id, or the target in short ("psnr-38"). */
const presetLabel = (o: OutputSettings) => (o.quality.kind === 'preset' ? o.quality.preset : `${o.quality.kind}-${o.quality.value}`);

export function batchSpecFor(folder: string, o: OutputSettings, extra: Pick<BatchSpec, 'signal' | 'onScan'> = {}): BatchSpec {
  const mirror = o.destination.kind === 'folder';
  return {
    inputs: [folder],
    outRoot: mirror ? outRootOf(folder, o) : undefined,
    layout: mirror ? 'mirror' : 'beside',
    suffix: o.destination.kind === 'beside' ? o.destination.suffix : undefined,
    template: templateOf(o),
    conflict: o.conflict,
    preset: presetLabel(o),
    include: o.include,
    exclude: o.exclude,
    ...extra,
  };
}

/** Refuses settings a batch would refuse later, while the user is still looking at them. */
export async function checkOutputSettings(folder: string, o: OutputSettings): Promise<void> {
  const t = templateOf(o);
  if (t) checkTemplate(t);
  if (o.destination.kind === 'folder') {
    if ((await realFolder(o.destination.path)) === (await realFolder(folder))) {
      throw new SgaiError('INVALID_ARGUMENT', `the output folder ${o.destination.path} is the library folder itself; choose another folder (a folder inside it is fine: it is not scanned)`);
    }
  } else if (o.copyIfNoSavings && !o.destination.suffix) {
    throw new SgaiError('INVALID_ARGUMENT', 'copying originals that do not shrink enough needs a separate output folder or a suffix: a copy beside the original would be the original itself');
  }
}

export const minSavingsOf = (o: OutputSettings): MinSavings | undefined =>
  o.minSavingsPercent > 0 ? { percent: o.minSavingsPercent, action: o.copyIfNoSavings ? 'copy' : 'skip' } : undefined;

/** The encode a folder's settings ask for: the preset's model (or a target over the compact family) and the chosen effort. */
export interface ResolvedEncode {
  settings: EncodeSettings;
  /** Model ids, in words for the app (the estimate's "models"). */
  models: string[];
  /** The untrained test model stands in (a development checkout without trained weights). */
  isTestModel: boolean;
}

export function encodeSettingsFor(o: OutputSettings): ResolvedEncode {
  const effort = EFFORTS[o.effort];
  // The metadata policy travels with the read options (core applies it when the photo is read).
  const read = { metadata: o.metadata };
  if (o.quality.kind === 'preset') {
    const p = resolvePreset(o.quality.preset);
    const model = loadModel(p.model);
    return { settings: { model, effort, preset: o.quality.preset, read }, models: [model.card.id], isTestModel: p.isTestModel };
  }
  // As `sgai batch --target-*`: searched over the compact family, the default model heading the request.
  const base = resolvePreset('balanced');
  const targetModels: LoadedModel[] = compactFamily().map((m) => loadModel(m));
  const target: QualityTarget = { kind: o.quality.kind, value: o.quality.value };
  return {
    settings: { model: loadModel(base.model), effort, target, targetModels, read },
    models: targetModels.map((m) => m.card.id),
    isTestModel: base.isTestModel,
  };
}
