/**
 * The batch engine's public face, for `sgai batch` today and the app's engine process next.
 * No Electron here: everything runs in plain Node.
 */
export { planBatch, parseShard, shardOf, type BatchPlan, type BatchSpec, type PlannedJob, type Shard } from './plan';
export { scanSources, sourceRootOf, emptyCounts, PHOTO_EXTENSIONS, SIDECAR_EXTENSIONS, type ScanCounts, type ScanOptions, type SourceFile } from './scan';
export { nameOutputs, captureDate, checkTemplate, renderTemplate, CONFLICT_POLICIES, type ConflictPolicy, type NamedJob, type NamingOptions } from './naming';
export { readManifest, replay, outputOwners, manifestPath, settingsHash, ManifestWriter, ManifestRecord, MANIFEST_DIR } from './manifest';
export { PRESETS, PRESET_IDS, resolvePreset, refineForPhoto, type PresetDefinition, type PresetId, type RefineEffort, type ResolvedPreset } from './presets';
export { runBatch, settingsKey, copyPathFor, type EncodeSettings, type MinSavings, type RunOptions } from './run';
export { removeStrayTempFiles } from './temp-files';
export * from './events';
