/**
 * The words of the ways into the viewer (File > Open, drag and drop, Open on Library and Queue
 * rows) and of exporting .sgai files to PNG or JPEG (the dialog, the Library's selection, the
 * progress card). Kept beside strings.ts, which re-exports them, so translations find them all.
 */
import type { ExportSettings } from '../../../ipc/schemas';
import { bytes, count, plural } from './format';

const files = (n: number) => plural(n, 'file', 'files');

export const openStrings = {
  title: 'Open a .sgai file',
  pathLabel: 'Path of a .sgai file',
  pathPlaceholder: '/Users/you/Pictures (sgai)/IMG_0001.sgai',
  submit: 'Open',
  cancel: 'Cancel',
  browserHint: 'Type or paste the file’s full path: a browser page cannot open this computer’s file dialog.',
  notAbsolute: 'Type the full path, starting with / (or a drive letter on Windows).',
  notSgai: 'That is not a .sgai file: its name should end in .sgai.',
  /** A .sgai was dropped on a browser page, which cannot learn where the file is: shown above the path field. */
  browserDrop: (name: string) => `A browser cannot see where a dropped file is on disk: type or paste the full path of ${name} below.`,
  /** Electron: the dropped .sgai gave no path (a file dragged from a web page or an archive). */
  noPath: 'sgai could not learn where the dropped file is on disk: open it with File › Open instead.',
  emptyState: (mod: string) => `To look at a .sgai file, drop it here or press ${mod}+O.`,
  emptyStateButton: 'Open a .sgai file…',
  rowOpen: 'Open',
  rowOpenAria: (name: string) => `Open ${name} in the viewer`,
  rowOpenTitle: 'Open in the viewer (or double-click the row)',
};

const FORMAT: Record<ExportSettings['format'], string> = { png: 'PNG', jpeg: 'JPEG' };
const METADATA: Record<ExportSettings['metadata'], string> = {
  all: 'All',
  'no-location': 'No location',
  copyright: 'Copyright only',
  none: 'None',
};

export const exportStrings = {
  // ---- the Library's selection
  select: 'Select for export',
  selectAria: (name: string) => `Select ${name} for export`,
  selectAllDone: (n: number) => `Select all done (${count(n)})`,
  selected: (n: number) => `${count(n)} selected`,
  clear: 'Clear',
  clearAria: 'Clear the selection',
  open: 'Export…',
  openAria: 'Export the selected files as PNG or JPEG',
  nothingSelected: 'Tick done photos to export them, or select all done.',
  collecting: (found: number, want: number) => `Finding the files… ${count(found)} of ${count(want)}`,
  collectFailed: (why: string) => `Could not list the done photos: ${why}`,
  noneFound: 'None of the selected photos has a .sgai file to export.',
  capped: (cap: number, all: number) =>
    `Exports take at most ${count(cap)} files at a time: the first ${count(cap)} of ${count(all)} are exported. Narrow the list with the search to export the rest.`,

  // ---- the dialog
  title: (n: number) => (n === 1 ? 'Export 1 file' : `Export ${files(n)}`),
  oneFile: (name: string) => name,
  format: 'Format',
  formats: FORMAT,
  bitDepth: 'Bit depth',
  bitDepths: { 8: '8-bit', 16: '16-bit' } as Record<8 | 16, string>,
  bitDepthHelp: '16-bit keeps all the precision the decoder gives; 8-bit files are smaller and open everywhere.',
  quality: 'Quality',
  qualityAria: 'JPEG quality from 1 to 100',
  qualityHelp: '92 is a good default; higher is larger and closer to the decoded image.',
  metadata: 'Metadata',
  metadataOptions: METADATA,
  metadataHelp: {
    all: 'Keeps the capture details, location included.',
    'no-location': 'Keeps everything but the location and the camera’s serial numbers.',
    copyright: 'Keeps only the copyright and the artist.',
    none: 'No EXIF or XMP at all.',
  } as Record<ExportSettings['metadata'], string>,
  iccKept: 'The colour profile is always kept.',
  resize: 'Resize',
  longEdge: 'Long edge',
  longEdgeUnit: 'px',
  longEdgeAria: 'Longest side in pixels',
  longEdgeHelp: 'Smaller photos are never enlarged.',
  folder: 'Save into',
  folderAria: 'Folder the exported files go into',
  folderPlaceholder: '/Users/you/Pictures/Exports',
  folderHelpBrowser: 'Type or paste a folder’s full path. Names that are taken get “(2)”; nothing is overwritten.',
  folderHelp: 'Names that are taken get “(2)”; nothing is overwritten.',
  choose: 'Choose…',
  chooseAria: 'Choose the folder the exported files go into',
  useFilesFolder: 'Use the files’ folder',
  useLast: (path: string) => `Use the last folder: ${path}`,
  run: 'Export',
  running: 'Starting…',
  cancel: 'Cancel',
  summary: (s: ExportSettings) => {
    const parts = [s.format === 'png' ? `PNG ${s.bitDepth}-bit` : `JPEG quality ${s.quality}`];
    parts.push(s.metadata === 'all' ? 'all metadata' : s.metadata === 'none' ? 'no metadata' : METADATA[s.metadata].toLowerCase());
    parts.push(s.longEdge ? `long edge ${count(s.longEdge)} px` : 'full size');
    return parts.join(' · ');
  },
  invalid: {
    folderRequired: 'Type the folder the files go into.',
    folderAbsolute: 'Type the full path, starting with / (or a drive letter on Windows).',
    quality: 'A whole number from 1 to 100.',
    longEdge: 'A whole number of pixels from 16 to 65,535.',
  },

  // ---- the progress card
  cardLabel: 'Export',
  exporting: (done: number, total: number, name: string | null) =>
    `Exporting ${count(Math.min(done + 1, total))} of ${count(total)}${name ? ` · ${name}` : ''}`,
  waiting: (total: number) => `Export of ${files(total)} waits for the one before it`,
  progressLabel: 'Export progress',
  cancelRun: 'Cancel',
  cancelRunAria: 'Cancel the export: the file being written is abandoned, the rest are not started',
  cancelling: 'Cancelling…',
  finished: (n: number, folder: string | null) => (folder ? `${files(n)} exported to ${folder}` : `${files(n)} exported`),
  cancelled: (n: number, total: number) => `Export cancelled: ${count(n)} of ${files(total)} exported`,
  failedAll: (total: number) => `Export failed: none of the ${files(total)} could be exported`,
  failures: (n: number) => `${plural(n, 'file', 'files')} not exported:`,
  failure: (name: string, message: string) => `${name}: ${message}`,
  written: (name: string, size: number, width: number, height: number) => `${name} · ${count(width)} × ${count(height)} · ${bytes(size)}`,
  more: (n: number) => `and ${count(n)} more`,
  reveal: 'Show in folder',
  revealAria: 'Show the exported files in the file manager',
  dismiss: 'Close',
  dismissAria: 'Close this export’s summary',
};
