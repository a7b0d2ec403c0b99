/**
 * Every word the photographer reads, in one place (translations later replace this module), with
 * the small sentence builders that put numbers into them. Formatting of the numbers themselves
 * lives in format.ts.
 */
import type { BatchInfo, BatchState, Effort, Estimate, MetadataPolicy, PhotoState, PresetId, ScanCounts } from '../../../ipc/schemas';
import { bytes, bytesRange, change, changeRange, count, duration, durationRange, megapixels, mpPerSecond, plural } from './format';
export { exportStrings, openStrings } from './strings-export';

export type TargetKind = 'bpp' | 'bytes' | 'psnr' | 'msssim';
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'skipped' | 'cancelled';

const photos = (n: number) => plural(n, 'photo', 'photos');

export const strings = {
  app: {
    name: 'sgai',
    nav: { library: 'Library', queue: 'Queue', settings: 'Settings' },
    navLabel: 'Sections',
    help: 'Keyboard shortcuts',
    loading: 'Starting sgai…',
    retry: 'Try again',
    noToken: {
      title: 'This page needs its key',
      body: 'Open the full address that `sgai app --browser` printed (it ends in #token=…). For your safety the key is not kept after the tab closes.',
    },
  },

  empty: {
    title: 'Add a folder of photos',
    body: 'sgai compresses a whole folder tree into a separate output folder. Your originals are never changed.',
    choose: 'Choose a folder…',
    drop: 'or drop a folder here',
    dropActive: 'Drop to add this folder',
    pathLabel: 'Folder path',
    pathPlaceholder: '/Users/you/Pictures',
    add: 'Add',
    browserHint: 'Type or paste the folder’s full path: a browser page cannot open this computer’s folder dialog.',
    browserDrop: 'A browser cannot see where a dropped folder is on disk: type or paste its path instead.',
    dropNotFolder: 'Drop one folder at a time.',
  },

  folders: {
    heading: 'Folders',
    add: 'Add folder',
    addAria: 'Add a folder of photos',
    remove: 'Remove',
    removeAria: (name: string) => `Remove ${name} from the library (no file is deleted)`,
    removeConfirmTitle: 'Remove this folder from the library?',
    removeConfirmBody: 'No photo and no compressed file is deleted; sgai just stops listing the folder.',
    removeConfirm: 'Remove',
    keep: 'Keep',
    count: (n: number) => count(n),
    countTitle: (n: number) => photos(n),
    badge: { never: 'Not scanned', scanning: 'Scanning', done: '', failed: 'Scan failed' } as Record<'never' | 'scanning' | 'done' | 'failed', string>,
    todo: (n: number) => `${count(n)} to do`,
    allDone: 'All done',
  },

  scan: {
    scanning: (found: number, folders: number) => `Scanning… ${photos(found)} in ${plural(folders, 'folder', 'folders')}`,
    never: 'Not scanned yet.',
    summary: (n: number, size: number, folders: number) => `${photos(n)} · ${bytes(size)} in ${plural(folders, 'folder', 'folders')}`,
    leftOutPrefix: 'Left out: ',
    leftOut: (c: ScanCounts): string[] => {
      const parts: string[] = [];
      if (c.hidden) parts.push(`${count(c.hidden)} hidden`);
      if (c.sidecars) parts.push(plural(c.sidecars, 'sidecar', 'sidecars'));
      if (c.other) parts.push(plural(c.other, 'other file', 'other files'));
      if (c.excluded) parts.push(`${count(c.excluded)} excluded`);
      if (c.symlinks) parts.push(plural(c.symlinks, 'link not followed', 'links not followed'));
      if (c.outputRoots) parts.push(plural(c.outputRoots, 'output folder', 'output folders'));
      if (c.unreadable) parts.push(`${count(c.unreadable)} unreadable`);
      return parts;
    },
    failed: (why: string) => `The scan stopped: ${why}`,
    rescan: 'Rescan',
    rescanAria: 'Scan this folder again',
  },

  filters: {
    label: 'Show photos',
    all: 'All',
    state: { new: 'New', done: 'Done', failed: 'Failed', 'out-of-date': 'Out of date', skipped: 'Skipped' } as Record<PhotoState, string>,
    search: 'Search names',
    searchAria: 'Search photo names',
  },

  photos: {
    listLabel: 'Photos',
    none: 'No photos match.',
    noneYet: 'No photos found in this folder.',
    loading: 'Loading…',
    sizes: (before: number, after?: number) => (after === undefined ? bytes(before) : `${bytes(before)} → ${bytes(after)}`),
    stateTitle: {
      new: 'Not compressed yet',
      done: 'Compressed with the current settings',
      failed: 'The last try failed',
      'out-of-date': 'Compressed before, with other settings or from an older version of the photo',
      skipped: 'Skipped',
    } as Record<PhotoState, string>,
    loadFailed: (why: string) => `Could not load the photos: ${why}`,
  },

  output: {
    heading: 'Output',
    destination: 'Save to',
    toFolder: 'A separate folder',
    beside: 'Next to the originals',
    folderLabel: 'Output folder',
    folderPlaceholder: '/Users/you/Pictures (sgai)',
    choose: 'Choose…',
    chooseAria: 'Choose the output folder',
    suffixLabel: 'Name suffix',
    besideWarning: 'Compressed files will be written into your photo folders, next to each original. Originals are never changed, but a separate folder is easier to move, back up or delete later.',
    keepTree: 'Keep the folder tree',
    naming: 'File names',
    templateAria: 'Naming template',
    templateDefault: (keepTree: boolean) => (keepTree ? '{folder}/{name}' : '{name}'),
    tokensLabel: 'Insert a token',
    tokens: {
      '{name}': 'the original’s name',
      '{folder}': 'its sub-folder',
      '{date}': 'capture date (YYYY-MM-DD)',
      '{preset}': 'the quality preset',
      '{n}': 'a running number',
    } as Record<string, string>,
    tokenAria: (token: string, what: string) => `Insert ${token}: ${what}`,
    preview: 'Preview',
    previewLoading: 'Working out names…',
    previewMore: (more: number) => `and ${count(more)} more`,
    previewSkips: (n: number) => `${plural(n, 'photo', 'photos')} will be skipped`,
    previewSkip: 'skip',
    previewArrow: '→',
    conflict: 'If the file is already there',
    conflictOptions: { unique: 'Make unique', skip: 'Skip', overwrite: 'Overwrite sgai’s own files' } as Record<'unique' | 'skip' | 'overwrite', string>,
    conflictHelp: {
      unique: 'Adds “(2)” to the new name.',
      skip: 'Leaves the existing file and skips the photo.',
      overwrite: 'Replaces files sgai wrote before; any other file gets a unique name instead.',
    } as Record<'unique' | 'skip' | 'overwrite', string>,
    overwriteConfirmTitle: 'Overwrite sgai’s own files?',
    overwriteConfirmBody: 'Files sgai wrote earlier at the same names will be replaced by the new ones. Files sgai did not write are never replaced.',
    overwriteConfirm: 'Overwrite',
    minSavings: 'Minimum saving',
    minSavingsHelp: 'A photo that would shrink less is skipped (0 turns this off).',
    copyInstead: 'Copy the original instead',
    metadata: 'Metadata',
    metadataOptions: { all: 'All', 'no-location': 'All but location & serial numbers', copyright: 'Copyright only' } as Record<MetadataPolicy, string>,
    quality: 'Quality',
    presets: { small: 'Small', balanced: 'Balanced', high: 'High', archive: 'Archive' } as Record<PresetId, string>,
    presetHelp: {
      small: 'Smallest files; fine for sharing.',
      balanced: 'The default: much smaller, hard to tell apart.',
      high: 'Larger files, very close to the original.',
      archive: 'Largest files, for keeping: the best quality sgai has.',
    } as Record<PresetId, string>,
    target: 'Target',
    targetAria: 'Use a size or quality target instead of a preset',
    targetKind: 'Target kind',
    targetKinds: { bpp: 'Max bits per pixel', bytes: 'Max file size', psnr: 'Min PSNR', msssim: 'Min MS-SSIM' } as Record<TargetKind, string>,
    targetUnits: { bpp: 'bpp', bytes: 'MB', psnr: 'dB', msssim: '' } as Record<TargetKind, string>,
    targetHelp: {
      bpp: 'The most bits each pixel may take (0.01–24).',
      bytes: 'The largest file each photo may become, in MB.',
      psnr: 'The lowest quality each photo may have, in dB (15–60).',
      msssim: 'The lowest similarity to the original each photo may have (0.5–0.99999).',
    } as Record<TargetKind, string>,
    targetValueAria: (kind: TargetKind) => `${strings.output.targetKinds[kind]} value`,
    effort: 'Refinement',
    efforts: { off: 'Off', fast: 'Fast', standard: 'Standard', max: 'Max' } as Record<Effort, string>,
    effortHelp: 'Refinement tunes each photo’s code for a few percent smaller files at the same quality; it takes time.',
    effortTime: (seconds: number, mp: number) => `up to ${duration(seconds)} per ${megapixels(mp)} photo on this machine`,
    effortNoRefine: (seconds: number, mp: number) => `about ${duration(seconds)} per ${megapixels(mp)} photo on this machine`,
    verify: 'Verify every file after writing',
    verifyHelp: 'Decodes each file before it is kept: slower, and certain.',
    filters: 'Include / exclude',
    include: 'Only these (one pattern per line)',
    exclude: 'Never these (one pattern per line)',
    filtersHelp: 'Patterns like **/*.jpg or Exports/**, relative to the folder. Changing them rescans.',
    saving: 'Saving…',
    saved: 'Saved',
    saveFailed: (why: string) => `Not saved: ${why}`,
    summary: (parts: string[]) => `→ ${parts.join(', ')}`,
    summaryParts: {
      beside: (suffix: string) => (suffix ? `next to originals (suffix “${suffix}”)` : 'next to originals'),
      keepTree: 'keep tree',
      flat: 'one folder',
      conflict: { unique: 'unique names', skip: 'skip existing', overwrite: 'overwrite own files' } as Record<'unique' | 'skip' | 'overwrite', string>,
      skipDone: 'skip done',
      minSavings: (p: number) => `skip if under ${p} % smaller`,
      copyInstead: 'copy if no saving',
      metadata: { all: 'keep all metadata', 'no-location': 'no location or serials', copyright: 'copyright only' } as Record<MetadataPolicy, string>,
      verify: 'verify',
    },
  },

  invalid: {
    folderRequired: 'Type or choose the folder where compressed files go.',
    suffixBad: 'A suffix cannot contain / or \\.',
    folderAbsolute: 'Type the full path, starting with / (or a drive letter on Windows).',
    number: 'Type a number.',
    range: (lo: number, hi: number) => `Between ${lo} and ${hi}.`,
    wholeNumber: 'A whole number.',
    templateToken: (token: string) => `Unknown token ${token}: use {name}, {folder}, {date}, {preset} or {n}.`,
    templateEscape: 'Names must stay inside the output folder: no leading “/” and no “..”.',
    templateNeedsName: 'Add {name} or {n}, or every photo would get the same name.',
    pattern: 'Patterns cannot be empty or longer than 256 characters; at most 32.',
    tooLong: 'That is too long.',
    generic: 'Check this value.',
  },

  estimate: {
    heading: 'Estimate',
    run: 'Estimate',
    again: 'Estimate again',
    running: 'Estimating…',
    intro: 'Encodes a few photos small to predict the output size and time.',
    result: (e: Estimate) =>
      `≈ ${bytesRange(e.bytesOut.low, e.bytesOut.high)} from ${bytes(e.bytesIn)} (${changeRange(e.bytesIn, e.bytesOut.low, e.bytesOut.high)})`,
    time: (e: Estimate) => `${durationRange(e.seconds.low, e.seconds.high)} on this machine`,
    sampled: (e: Estimate) => `sampled ${count(e.sampled)} of ${photos(e.photos)}`,
    models: (ids: string[]) => `model${ids.length === 1 ? '' : 's'}: ${ids.join(', ')}`,
    stale: 'Settings changed since this estimate.',
    notes: 'How this was estimated',
  },

  start: {
    label: (n: number) => `Compress ${photos(n)}`,
    scanning: 'Wait for the scan to finish.',
    notScanned: 'Scan the folder first.',
    nothing: 'Nothing to compress: every photo is done or skipped.',
    invalid: 'Fix the output settings first.',
    running: 'This folder’s batch is already in the queue.',
    queued: 'Added to the queue: it starts when the batch before it finishes.',
  },

  queue: {
    barLabel: 'Batch progress',
    progress: (b: BatchInfo, finished: number) => {
      const t = b.totals;
      const parts = [`${count(finished)} / ${count(t.total)}`];
      if (t.bytesIn > 0) parts.push(`${bytes(t.bytesIn)} → ${bytes(t.bytesOut)} (${change(t.bytesIn, t.bytesOut)})`);
      const speed = mpPerSecond(t.megapixels, t.seconds);
      if (speed) parts.push(speed);
      if (b.eta && (b.state === 'running' || b.state === 'queued')) parts.push(`ETA ${durationRange(b.eta.low, b.eta.high)}`);
      return parts.join(' · ');
    },
    spoken: (finished: number, total: number) => `${count(finished)} of ${photos(total)} finished`,
    state: {
      queued: 'Waiting', running: 'Compressing', paused: 'Paused', cancelling: 'Cancelling…',
      done: 'Finished', cancelled: 'Cancelled', failed: 'Stopped',
    } as Record<BatchState, string>,
    folder: (path: string) => path,
    pause: 'Pause',
    resume: 'Resume',
    pauseHelp: 'Photos being compressed finish; no new one starts.',
    cancel: 'Cancel',
    cancelConfirmTitle: 'Cancel this batch?',
    cancelConfirmBody: 'Photos already finished are kept. Photos in progress are stopped and leave no partial file. Starting again later picks up where it stopped.',
    cancelConfirm: 'Cancel batch',
    cancelKeep: 'Keep going',
    show: 'Show queue',
    dismiss: 'Hide',
    dismissAria: 'Hide the finished batch',
    /** A finished batch in one line: "1,234 photos done · 3.4 GB → 1.5 GB (−56 %)". */
    result: (b: BatchInfo) => {
      const t = b.totals;
      const parts = [`${photos(t.done)} done`];
      if (t.bytesIn > 0) parts.push(`${bytes(t.bytesIn)} → ${bytes(t.bytesOut)} (${change(t.bytesIn, t.bytesOut)})`);
      if (t.failed) parts.push(`${count(t.failed)} failed`);
      return parts.join(' · ');
    },
    waiting: (n: number) => `${plural(n, 'batch', 'batches')} waiting`,
  },

  queueView: {
    heading: 'Queue',
    empty: 'No batch yet. Pick a folder in the Library and press Compress.',
    batches: 'Batches',
    batchLabel: (b: BatchInfo) => `${b.folderPath} · ${strings.queue.state[b.state]}`,
    filterLabel: 'Show',
    filterAll: 'All photos',
    filterFailed: (n: number) => `Failed (${count(n)})`,
    findingFailed: 'Looking for failed photos…',
    noFailed: 'No photo failed.',
    retry: (failed: number, cancelled: number) =>
      failed && cancelled ? 'Retry failed & cancelled' : cancelled ? 'Retry cancelled' : 'Retry failed',
    retryHelp: 'Runs the failed and cancelled photos again; finished photos are kept.',
    rowsLabel: 'Photos in this batch',
    jobState: {
      queued: 'Waiting', running: 'Working', done: 'Done', failed: 'Failed', skipped: 'Skipped', cancelled: 'Cancelled',
    } as Record<JobState, string>,
    resumed: 'kept from an earlier run',
    stage: {
      read: 'Reading', analysis: 'Analysing', refine: 'Refining', entropy: 'Coding', write: 'Writing', verify: 'Verifying',
    } as Record<string, string>,
    stageProgress: (stage: string, done: number, total: number) =>
      `${strings.queueView.stage[stage] ?? stage} ${total > 0 ? `${Math.round((done / total) * 100)} %` : ''}`.trim(),
    cancelRow: 'Cancel',
    cancellingRow: 'Cancelled: it will not be compressed',
    cancelRowAria: (name: string) => `Cancel ${name}`,
    loadFailed: (why: string) => `Could not load the batch’s photos: ${why}`,
  },

  summary: {
    title: { done: 'Batch finished', cancelled: 'Batch cancelled', failed: 'Batch stopped' } as Record<string, string>,
    saved: (bytesIn: number, bytesOut: number) =>
      bytesIn > 0 ? `Saved ${bytes(Math.max(0, bytesIn - bytesOut))} (${change(bytesIn, bytesOut)}): ${bytes(bytesIn)} → ${bytes(bytesOut)}` : 'Nothing was written.',
    encoded: (n: number) => `${photos(n)} compressed`,
    resumed: (n: number) => `${photos(n)} from an earlier run`,
    skipped: (n: number) => `${photos(n)} skipped`,
    skippedReason: (reason: string, n: number) => `${reason}: ${count(n)}`,
    failed: (n: number) => `${photos(n)} failed`,
    cancelled: (n: number) => `${photos(n)} cancelled`,
    time: (seconds: number) => `in ${duration(seconds)}`,
    stopError: (message: string) => `The batch stopped: ${message}`,
    report: 'Export report',
    reportCsv: 'CSV',
    reportJson: 'JSON',
    reportCsvAria: 'Export the report as CSV',
    reportJsonAria: 'Export the report as JSON',
    reportWritten: 'Report written to',
    reveal: 'Reveal',
    revealAria: 'Show the report in the file manager',
    showOutput: 'Show output folder',
    outputIs: 'The output folder is',
    moreFailed: (n: number) => `and ${count(n)} more (filter “Failed” to see all)`,
  },

  settings: {
    heading: 'Settings',
    workers: 'Encoder processes',
    workersAuto: 'Auto',
    workersCustom: 'Fixed number',
    workersHelp: (cores: number) =>
      `Auto runs one per core (${plural(cores, 'core', 'cores')} here), fewer when the largest photo needs more memory than the budget allows.`,
    workersAria: 'Number of encoder processes',
    backend: 'Compute backend',
    backendAuto: 'Auto',
    backendAutoHelp: (picked: string) => `Auto picks the fastest that works here: ${picked}.`,
    backends: { auto: 'Auto', ort: 'ONNX Runtime', wasm: 'WebAssembly', cpu: 'CPU', gpu: 'GPU' } as Record<string, string>,
    unavailable: 'not available here',
    memory: 'Memory budget',
    memoryAuto: 'Auto',
    memoryCustom: 'Limit',
    memoryHelp: (total: number) => `What all encoder processes may use together. Auto takes a share of this machine’s ${bytes(total)}.`,
    memoryUnit: 'MB',
    memoryAria: 'Memory budget in MB',
    defaultOutput: 'Default output folder',
    defaultOutputHelp: 'Where a newly added folder’s compressed files go (in a sub-folder named after it). Empty: beside each folder, as “<folder> (sgai)”.',
    defaultOutputAria: 'Default output folder path',
    clear: 'Clear',
    theme: 'Appearance',
    themes: { system: 'System', light: 'Light', dark: 'Dark' } as Record<'system' | 'light' | 'dark', string>,
    notify: 'Notify me when a batch finishes',
    notifyDenied: 'This browser blocks notifications for this page.',
    saved: 'Saved',
    about: (version: string, platform: string) => `sgai ${version} · ${platform}`,
    models: (n: number) => plural(n, 'model installed', 'models installed'),
    speed: (mpPerS: number) => `Measured speed: ${mpPerS.toFixed(1)} MP/s per encoder without refinement`,
  },

  engine: {
    lost: 'The compression engine stopped unexpectedly. Restarting…',
    restarting: 'The compression engine stopped unexpectedly. Restarting…',
    restarted: 'Restarted: the batch resumed; finished photos are kept.',
    restartedIdle: 'The compression engine restarted.',
    stopped: 'The compression engine stopped and could not be restarted.',
    starting: 'Starting the compression engine…',
    dismiss: 'Dismiss',
    dismissAria: 'Dismiss this message',
  },

  errors: {
    unreachable: 'The sgai server did not answer. Is `sgai app --browser` still running? Start it again and open the address it prints.',
    badAnswer: (status: number) => `The sgai server gave an answer sgai cannot read (HTTP ${status}).`,
    noToken: 'This page was opened without its key: open the address `sgai app --browser` printed.',
    forbidden: (why: string) => `sgai refused this for your safety: ${why}`,
    engineLost: 'The compression engine stopped while answering and is restarting: try again in a moment.',
    unexpected: (why: string) => `Something went wrong inside sgai: ${why}`,
    unreadable: '(a value sgai cannot show)',
    dismiss: 'Dismiss',
  },

  notification: {
    title: 'sgai: batch finished',
    body: (b: BatchInfo) => `${b.folderPath}: ${strings.queue.state[b.state]}, ${strings.queue.result(b)}`,
  },

  help: {
    title: 'Keyboard shortcuts',
    close: 'Close',
  },

  dialog: {
    cancel: 'Cancel',
  },
} as const;
export { viewerStrings } from './strings-viewer';
