/**
 * Every word the .sgai viewer shows, with the sentence builders that put numbers into them
 * (re-exported by strings.ts as `viewerStrings`). Number formatting itself is format.ts.
 */
import type { CompareSide, ViewerFileInfo } from '../../../ipc/schemas';
import { bytes, count, duration } from './format';

export type CompareMode = 'off' | 'split' | 'side';
export type CompareAgainst = 'original' | 'jpeg';

const bpp = (v: number) => `${v.toFixed(v < 1 ? 3 : 2)} bpp`;
const db = (v: number) => `${v.toFixed(2)} dB`;
const ssim = (v: number) => `MS-SSIM ${v.toFixed(4)}`;

export const viewerStrings = {
  nav: 'Viewer',
  region: (name: string) => `Viewer: ${name}`,
  empty: {
    title: 'No file open',
    body: 'Open a .sgai file to look at it, compare it with its original and export it.',
    open: 'Open a .sgai file…',
  },
  opening: (name: string) => `Opening ${name}…`,
  error: {
    title: (name: string) => `sgai cannot show ${name}`,
    close: 'Close',
    next: 'Next file',
    prev: 'Previous file',
  },

  toolbar: {
    label: 'Viewer tools',
    prev: 'Previous file (←)',
    next: 'Next file (→)',
    position: (index: number, total: number) => `${count(index + 1)} / ${count(total)}`,
    fit: 'Fit',
    fitTitle: 'Fit the photo in the window (0)',
    actual: '100 %',
    actualTitle: 'Show true pixels, one per screen pixel (1)',
    zoomIn: 'Zoom in (+)',
    zoomOut: 'Zoom out (−)',
    zoomInput: 'Zoom in percent',
    zoomInvalid: 'Type a zoom in percent, like 150.',
    compare: 'Compare',
    compareModes: { off: 'Off', split: 'Split', side: 'Side by side' } as Record<CompareMode, string>,
    against: 'with',
    againstOptions: { original: 'Original', jpeg: 'Same-size JPEG' } as Record<CompareAgainst, string>,
    againstTitle: {
      original: 'The photo this file was made from',
      jpeg: 'A JPEG (mozjpeg) of the same file size, made from the original',
    } as Record<CompareAgainst, string>,
    noOriginal: 'sgai found no original for this file (it looks beside it and in the batch manifest), so there is nothing to compare with.',
    /** While viewer:original has not answered: the comparison controls wait, disabled, with this title. */
    lookingForOriginal: 'Looking for the original…',
    heat: 'Heatmap',
    heatTitle: 'Show where the compressed photo differs from the original',
    heatOpacity: 'Heatmap opacity',
    info: 'Info',
    infoTitle: 'File information (I)',
    export: 'Export…',
    exportTitle: 'Save this photo as PNG or JPEG',
    fullscreen: 'Full screen (F11)',
    exitFullscreen: 'Leave full screen (Esc)',
    close: 'Close',
    closeTitle: 'Close this file',
  },

  /** viewer:original itself failed (the engine restarting, a file gone): no original, and why. */
  originalLookupFailed: (why: string) => `The original photo could not be looked for (${why}).`,

  zoomLabel: (percentText: string) => `${percentText} %`,
  canvasLabel: (name: string) => `${name}: drag to pan, scroll to zoom, double-click for fit or 100 %`,
  loadingTiles: 'Loading full resolution…',
  tileFailed: 'This part of the photo could not be decoded',
  tileFailedToast: (name: string, why: string) => `Part of ${name} could not be decoded: ${why}`,
  tileFailedWhy: 'the engine could not decode that region (see the app’s log).',

  split: {
    handle: 'Split position',
    value: (fraction: number) => `${Math.round(fraction * 100)} % compressed`,
  },

  side: {
    sgaiFallback: (info: ViewerFileInfo) => `sgai · ${info.model.id}`,
    otherFallback: { original: 'Original', jpeg: 'JPEG at the same size' } as Record<CompareAgainst, string>,
    measuring: 'measuring…',
    failed: (why: string) => `Comparison failed: ${why}`,
    /** "sgai · sgai-msh-c64-l0067 · 1.2 MB · 0.412 bpp · 34.21 dB · MS-SSIM 0.9861". */
    measured: (s: CompareSide) => {
      const parts = [s.label, bytes(s.bytes), bpp(s.bpp)];
      if (s.psnr !== null) parts.push(db(s.psnr));
      if (s.msssim !== null) parts.push(ssim(s.msssim));
      if (s.psnr === null && s.msssim === null && s.layer === 'original') parts.push('reference');
      return parts.join(' · ');
    },
    /** Before viewer:compare answers: what the file itself says. */
    pendingSgai: (info: ViewerFileInfo) => `${viewerStrings.side.sgaiFallback(info)} · ${bytes(info.bytes)} · ${bpp(info.bpp)}`,
  },

  heat: {
    legend: 'Error heatmap',
    caption: 'mean error in 8-bit levels',
    last: (levels: number) => `${levels}+`,
  },

  info: {
    heading: 'File information',
    close: 'Close information',
    file: 'File',
    dimensions: 'Dimensions',
    dimensionsValue: (w: number, h: number) => `${count(w)} × ${count(h)} px (${(w * h / 1e6).toFixed(1)} MP)`,
    bitDepth: (b: number) => `${b}-bit`,
    size: 'File size',
    bpp: 'Bits per pixel',
    bppValue: (v: number) => bpp(v),
    model: 'Model',
    lambda: (l: number | null) => (l === null ? 'λ unknown' : `λ ${l}`),
    installed: (yes: boolean) => (yes ? 'installed' : 'not installed: decoding needs it'),
    refine: 'Refinement',
    notRefined: 'Not refined',
    refineValue: (r: NonNullable<ViewerFileInfo['refine']>) => {
      const parts = [r.method, `${count(r.iterations)} iterations`, `λ ${r.lambda}`];
      if (r.seconds !== undefined) parts.push(duration(r.seconds));
      return parts.join(' · ');
    },
    capture: 'Capture',
    camera: 'Camera',
    lens: 'Lens',
    date: 'Date',
    exposure: 'Exposure',
    artist: 'Artist',
    copyright: 'Copyright',
    noCapture: 'No capture metadata in this file.',
    location: 'Location',
    showLocation: 'Show location',
    hideLocation: 'Hide location',
    gps: (lat: number, lon: number, alt?: number) =>
      `${Math.abs(lat).toFixed(5)}° ${lat >= 0 ? 'N' : 'S'}, ${Math.abs(lon).toFixed(5)}° ${lon >= 0 ? 'E' : 'W'}${alt === undefined ? '' : ` · ${Math.round(alt)} m`}`,
    colour: 'Colour profile',
    alpha: 'The original had transparency; sgai stores the colours only.',
    orientation: (o: number) => (o > 1 ? `EXIF orientation ${o} was applied when compressing.` : ''),
    original: 'Original',
    originalHow: { beside: 'found beside this file', manifest: 'found through the batch’s manifest' } as Record<'beside' | 'manifest', string>,
    noOriginal: 'Not found (sgai looks beside this file and in the batch manifest).',
    lookingForOriginal: 'Looking beside this file and in the batch manifest…',
    warnings: 'Warnings',
  },

  /** The "?" sheet, in two groups (it replaces strings.help.shortcuts: Ctrl/Cmd+O now opens files). */
  help: {
    general: 'Everywhere',
    viewer: 'In the viewer',
    generalKeys: (mod: string): [string, string][] => [
      [`${mod}+O`, 'Open .sgai files'],
      [`${mod}+Shift+O`, 'Add a folder of photos'],
      ['Space', 'Pause or resume the queue (when the queue has focus)'],
      ['← → ↑ ↓', 'Move within a choice (quality, effort, …)'],
      ['Tab / Shift+Tab', 'Move between controls'],
      ['Escape', 'Close a dialog'],
      ['?', 'Show this list'],
    ],
    viewerKeys: (): [string, string][] => [
      ['← →', 'Previous / next .sgai file in the folder'],
      ['0', 'Fit the photo in the window'],
      ['1', '100 % (true pixels)'],
      ['+ −', 'Zoom in / out'],
      ['Wheel', 'Zoom at the pointer'],
      ['Drag', 'Pan'],
      ['Double-click', 'Fit ↔ 100 % at that point'],
      ['I', 'File information'],
      ['F11', 'Full screen'],
      ['Escape', 'Close the information panel or full screen'],
      ['[ ]', 'Split: move the divider left / right'],
      ['Alt+1 / 2 / 3', 'Split: divider at 0 / 50 / 100 % (all comparison, half, all compressed)'],
      ['← → Home End', 'On the split divider: move it (Home / End: to an edge)'],
    ],
  },
} as const;
