/**
 * Named presets shared by `sgai batch` and the app. A preset picks a model from what is
 * installed (by the models' lambda, never by file name) and a refinement effort, given as a time
 * budget per megapixel so a 24 MP photo gets proportionally more time than a 2 MP crop.
 */
import { defaultModel, listModels, type InstalledModel, type RefineMethod, type RefineOptions, SgaiError, TEST_MODELS_DIR } from '../core';

export type PresetId = 'archive' | 'high' | 'balanced' | 'small';
export const PRESET_IDS: readonly PresetId[] = ['archive', 'high', 'balanced', 'small'];

export type RefineEffort = { kind: 'off' } | { kind: 'budget'; method: RefineMethod; secondsPerMegapixel: number; maxIterations: number };

/**
 * SGA+ refinement efforts, by name (the app's effort setting; presets use them too). A budget
 * per megapixel, capped in iterations: refinement ends at whichever comes first.
 */
export type EffortId = 'off' | 'fast' | 'standard' | 'max';
export const EFFORT_IDS: readonly EffortId[] = ['off', 'fast', 'standard', 'max'];
export const EFFORTS: Record<EffortId, RefineEffort> = {
  off: { kind: 'off' },
  fast: { kind: 'budget', method: 'ssl', secondsPerMegapixel: 5, maxIterations: 200 },
  standard: { kind: 'budget', method: 'ssl', secondsPerMegapixel: 15, maxIterations: 500 },
  max: { kind: 'budget', method: 'ssl', secondsPerMegapixel: 60, maxIterations: 2000 },
};

export interface PresetDefinition {
  id: PresetId;
  label: string;
  description: string;
  /**
   * Which installed model: highest or lowest lambda of the compact family, the default model,
   * or the family's next step above the default (a little more quality for a little more size).
   */
  model: 'highest-lambda' | 'lowest-lambda' | 'default' | 'above-default';
  refine: RefineEffort;
}

export const PRESETS: Record<PresetId, PresetDefinition> = {
  archive: {
    id: 'archive', label: 'Archive', description: 'best quality: the highest-quality compact model, refined longest',
    model: 'highest-lambda', refine: EFFORTS.max,
  },
  high: {
    id: 'high', label: 'High', description: 'the next quality step above the default model, refined briefly',
    model: 'above-default', refine: EFFORTS.standard,
  },
  balanced: {
    id: 'balanced', label: 'Balanced', description: 'the default model, refined briefly',
    model: 'default', refine: EFFORTS.standard,
  },
  small: {
    id: 'small', label: 'Small', description: 'smallest files: the lowest-quality compact model, not refined',
    model: 'lowest-lambda', refine: EFFORTS.off,
  },
};

export interface ResolvedPreset {
  preset: PresetDefinition;
  model: InstalledModel;
  /** The default test model stood in: no trained weights are installed. */
  isTestModel: boolean;
}

/** The preset's model among the installed ones. */
export function resolvePreset(id: string, extraModelDirs: string[] = []): ResolvedPreset {
  const preset = PRESETS[id as PresetId];
  if (!preset) throw new SgaiError('INVALID_ARGUMENT', `unknown preset "${id}" (use ${PRESET_IDS.join(', ')})`);
  const def = defaultModel(extraModelDirs);
  if (preset.model === 'default' || def.isTestModel) return { preset, model: def.model, isTestModel: def.isTestModel };
  const family = compactFamily(extraModelDirs);
  const model =
    preset.model === 'highest-lambda' ? family[family.length - 1]
    : preset.model === 'lowest-lambda' ? family[0]
    // The first step up from the default; the default itself when it is already the top.
    : (family.find((m) => m.card.lambda > def.model.card.lambda) ?? def.model);
  return { preset, model: model ?? def.model, isTestModel: false };
}

/**
 * The compact family: the narrowest trained models (fast on a laptop CPU), ordered by lambda;
 * what presets pick from and quality targets search. Without trained weights: the default model.
 */
export function compactFamily(extraModelDirs: string[] = []): InstalledModel[] {
  const trained = listModels(extraModelDirs).filter((m) => m.dir !== TEST_MODELS_DIR);
  if (!trained.length) return [defaultModel(extraModelDirs).model];
  const narrowest = Math.min(...trained.map((m) => m.card.N));
  return trained.filter((m) => m.card.N === narrowest).sort((a, b) => a.card.lambda - b.card.lambda);
}

/** Refinement options for one photo under an effort; undefined when the effort is off. */
export function refineForPhoto(effort: RefineEffort, megapixels: number): RefineOptions | undefined {
  if (effort.kind === 'off') return undefined;
  return { method: effort.method, iterations: effort.maxIterations, timeBudgetS: Math.max(1, effort.secondsPerMegapixel * megapixels) };
}
