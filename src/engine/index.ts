/**
 * The batch engine's public face, for `sgai batch` today and the app's engine process next.
 * No Electron here: everything runs in plain Node (encoder processes are child_process forks).
 */
export { planBatch, parseShard, shardOf, type BatchPlan, type BatchSpec, type PlannedJob, type Shard } from './plan';
export { scanSources, sourceRootOf, emptyCounts, PHOTO_EXTENSIONS, SIDECAR_EXTENSIONS, type ScanCounts, type ScanOptions, type SourceFile } from './scan';
export { nameOutputs, captureDate, checkTemplate, renderTemplate, CONFLICT_POLICIES, type ConflictPolicy, type NamedJob, type NamingOptions } from './naming';
export { readManifest, replay, outputOwners, manifestPath, settingsHash, ManifestWriter, ManifestRecord, MANIFEST_DIR } from './manifest';
export {
  PRESETS, PRESET_IDS, EFFORTS, EFFORT_IDS, compactFamily, resolvePreset, refineForPhoto, type EffortId, type PresetDefinition, type PresetId, type RefineEffort, type ResolvedPreset,
} from './presets';
export { runBatch, settingsKey, copyPathFor, PhotoCancel, type EncodeSettings, type MinSavings, type RunOptions } from './run';
export {
  EncoderPool, type EncodedPhoto, type EncodeRequest, type Lane, type PoolOptions, type SubmitOptions, type WorkerSlot,
} from './pool';
export { chooseWorkers, workersFor, memoryBudgetBytes, type WorkerChoice } from './sizing';
export { readWorkerLogs, workerLogPath, WorkerLogLine } from './worker/log';
export { workerEntry, type WorkerEntry } from './worker/entry-path';
export { removeStrayTempFiles } from './temp-files';
export * from './events';
export { acquireBatchLock, type BatchLock } from './lock';
export { ReportBuilder, reportCsv, reportJson, reportKindOf, writeReport, type BatchReport, type ReportRow } from './report';
export { verifyWritten } from './verify';
export { engineEntry, type EngineEntry } from './service/entry-path';
export { createEngineService, type EngineService, type EngineServiceOptions } from './service/service';
