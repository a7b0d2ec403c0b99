/**
 * The .sgai viewer's state: which file is open (or why it could not be), the zoom and pan, the
 * comparison and heatmap choices and their measurements, the info panel. Other parts of the app
 * open files with `viewer.open(path)`; the view components read and change the rest.
 *
 * The zoom state follows the window while "fitted" (resizing refits); any zoom or pan leaves fit
 * until Fit or 0 is pressed again. Answers that arrive after the viewer moved to another file are
 * dropped.
 *
 * The original photo comes apart from the file: viewer:open answers from the .sgai alone (first
 * pixels at once), then viewer:original says whether the engine proved an original. Until it does,
 * a comparison or heatmap chosen (or carried over from the last file) stays chosen but is not
 * shown (`shownCompare`, `shownHeat`), so no tile asks for an original that may not exist.
 */
import type { Res } from '../../../ipc/contract';
import type { ViewerFileInfo, ViewerOriginal } from '../../../ipc/schemas';
import { api } from '../lib/api';
import { describeError, errorCode } from '../lib/errors';
import { baseName } from '../lib/format';
import type { CompareAgainst, CompareMode } from '../lib/strings-viewer';
import { viewerStrings } from '../lib/strings-viewer';
import { SPLIT_NUDGE } from '../lib/viewer/keys';
import {
  centreOf, clampFraction, clampPan, fitView, isFitted, panBy, stepZoom, zoomAt, type Point, type Size, type View,
} from '../lib/viewer/zoom';
import { toasts } from './toasts.svelte';
import { ui, type View as Screen } from './ui.svelte';

export type Comparison =
  | { state: 'measuring' }
  | { state: 'done'; result: Res<'viewerCompare'> }
  | { state: 'failed'; message: string };

class ViewerStore {
  /** The file shown or being opened; null when the viewer has nothing. */
  path = $state<string | null>(null);
  current = $state<ViewerFileInfo | null>(null);
  /** Why the file could not be opened (its SgaiError text), shown in the canvas. */
  error = $state<{ message: string; code: string | null } | null>(null);
  loading = $state(false);

  view = $state<View>({ zoom: 1, x: 0, y: 0 });
  /** The view follows the window (Fit). */
  fitted = $state(true);
  /** The size of one pane (the whole canvas, or one half side by side), in CSS pixels. */
  viewport = $state<Size>({ width: 0, height: 0 });

  /** What viewer:original answered for the open file; null while the engine is still looking. */
  originalLookup = $state<ViewerOriginal | null>(null);

  /** The comparison chosen; shown once the original is confirmed (`shownCompare`). */
  compare = $state<CompareMode>('off');
  against = $state<CompareAgainst>('original');
  /** The split divider as a fraction of the width: the compressed photo is left of it. */
  split = $state(0.5);
  /** The heatmap chosen; shown once the original is confirmed (`shownHeat`). */
  heat = $state(false);
  heatOpacity = $state(0.7);
  comparisons = $state<Partial<Record<CompareAgainst, Comparison>>>({});

  infoOpen = $state(false);
  showLocation = $state(false);

  /** Whether a failed tile of this file was told already (once per file is enough). */
  private tileErrorTold = false;
  private seq = 0;
  private returnTo: Screen = 'library';

  get name(): string {
    return this.current?.name ?? (this.path ? baseName(this.path) : '');
  }

  get image(): Size | null {
    const c = this.current;
    return c ? { width: c.width, height: c.height } : null;
  }

  /** The open file's original, proven by the engine; null while looking or when there is none. */
  get original(): ViewerOriginal['original'] {
    return this.originalLookup?.original ?? null;
  }

  get hasOriginal(): boolean {
    return !!this.original;
  }

  /** A file is open and the engine has not said yet whether it has an original. */
  get lookingForOriginal(): boolean {
    return !!this.current && !this.originalLookup;
  }

  /** The comparison on screen: the chosen one once the original is confirmed, else off. */
  get shownCompare(): CompareMode {
    return this.hasOriginal ? this.compare : 'off';
  }

  get shownHeat(): boolean {
    return this.heat && this.hasOriginal;
  }

  /** Opens a .sgai file in the viewer (and shows the viewer). */
  async open(path: string): Promise<void> {
    if (ui.view !== 'viewer') this.returnTo = ui.view;
    ui.view = 'viewer';
    if (path === this.path && this.current && !this.error) return;
    const previous = this.path;
    const seq = ++this.seq;
    this.path = path;
    this.current = null;
    this.error = null;
    this.loading = true;
    this.originalLookup = null;
    this.comparisons = {};
    this.tileErrorTold = false;
    this.fitted = true;
    if (previous && previous !== path) this.release(previous);
    try {
      const info = await api.viewerOpen({ path });
      if (seq !== this.seq) return;
      this.current = info;
      this.view = fitView({ width: info.width, height: info.height }, this.viewport);
      void this.lookForOriginal(path, seq);
    } catch (e) {
      if (seq !== this.seq) return;
      this.error = { message: describeError(e), code: errorCode(e) };
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }

  /** Asks viewer:original for the file just opened; an answer for a file the viewer has left is dropped. */
  private async lookForOriginal(path: string, seq: number): Promise<void> {
    const ask = () => api.viewerOriginal({ path });
    let answer: ViewerOriginal;
    try {
      // CANCELLED: a close from an earlier visit to this file stopped the lookup this ask joined; asking again starts a new one.
      answer = await ask().catch((e: unknown) => (errorCode(e) === 'CANCELLED' && seq === this.seq ? ask() : Promise.reject(e)));
    } catch (e) {
      answer = { original: null, warnings: [viewerStrings.originalLookupFailed(describeError(e))] };
    }
    if (seq !== this.seq) return;
    this.originalLookup = answer;
    // A comparison or heatmap left on from the last file carries over when this one has an original.
    if (!answer.original) {
      this.heat = false;
      if (this.compare !== 'off') this.compare = 'off';
    } else {
      this.measureActive();
    }
  }

  /** Closes the file: the engine may drop its decoded tiles; the app goes back where it was. */
  close(): void {
    const path = this.path;
    this.seq++;
    this.path = null;
    this.current = null;
    this.error = null;
    this.loading = false;
    this.originalLookup = null;
    this.comparisons = {};
    this.infoOpen = false;
    if (path) this.release(path);
    if (ui.view === 'viewer') ui.view = this.returnTo;
  }

  private release(path: string): void {
    // Nothing to tell the photographer if this fails: the engine drops idle files by itself too.
    api.viewerClose({ path }).catch(() => {});
  }

  step(dir: 1 | -1): void {
    const s = this.current?.siblings;
    const target = s ? (dir > 0 ? s.next : s.prev) : null;
    if (target) void this.open(target);
  }

  // ---------------------------------------------------------------- zoom and pan

  setViewport(size: Size): void {
    if (size.width === this.viewport.width && size.height === this.viewport.height) return;
    this.viewport = size;
    const img = this.image;
    if (!img) return;
    this.view = this.fitted ? fitView(img, size) : clampPan(this.view, img, size);
  }

  fit(): void {
    const img = this.image;
    if (!img) return;
    this.fitted = true;
    this.view = fitView(img, this.viewport);
  }

  zoomTo(zoom: number, at: Point = centreOf(this.viewport)): void {
    const img = this.image;
    if (!img) return;
    this.view = zoomAt(this.view, zoom, at, img, this.viewport);
    this.fitted = false;
  }

  zoomStep(dir: 1 | -1, at?: Point): void {
    this.zoomTo(stepZoom(this.view.zoom, dir), at);
  }

  zoomBy(factor: number, at: Point): void {
    this.zoomTo(this.view.zoom * factor, at);
  }

  /** Double-click: from fit to 100 % at the point, from anything else back to fit. */
  toggleFitAt(at: Point): void {
    const img = this.image;
    if (!img) return;
    if (this.fitted || isFitted(this.view, img, this.viewport)) this.zoomTo(1, at);
    else this.fit();
  }

  pan(dx: number, dy: number): void {
    const img = this.image;
    if (!img) return;
    this.view = panBy(this.view, dx, dy, img, this.viewport);
    this.fitted = false;
  }

  // ---------------------------------------------------------------- compare and heatmap

  setCompare(mode: CompareMode): void {
    if (mode !== 'off' && !this.hasOriginal) return;
    this.compare = mode;
    this.measureActive();
  }

  setAgainst(against: CompareAgainst): void {
    this.against = against;
    this.measureActive();
  }

  setHeat(on: boolean): void {
    if (on && !this.hasOriginal) return;
    this.heat = on;
    this.measureActive();
  }

  setSplit(fraction: number): void {
    this.split = clampFraction(fraction);
  }

  nudgeSplit(dir: 1 | -1): void {
    this.setSplit(Math.round((this.split + dir * SPLIT_NUDGE) * 100) / 100);
  }

  /** The measurements that label the two sides, for the current choice. */
  get comparison(): Comparison | undefined {
    return this.comparisons[this.compare !== 'off' ? this.against : 'original'];
  }

  /** Asks viewer:compare once per file and side for whatever is switched on (once the original is confirmed). */
  private measureActive(): void {
    if (!this.hasOriginal) return;
    if (this.compare !== 'off') this.measure(this.against);
    if (this.heat) this.measure('original');
  }

  private measure(against: CompareAgainst): void {
    const path = this.path;
    if (!path || this.comparisons[against]) return;
    const seq = this.seq;
    this.comparisons[against] = { state: 'measuring' };
    api.viewerCompare({ path, against }).then(
      (result) => {
        if (seq === this.seq) this.comparisons[against] = { state: 'done', result };
      },
      (e) => {
        if (seq === this.seq) this.comparisons[against] = { state: 'failed', message: describeError(e) };
      },
    );
  }

  // ---------------------------------------------------------------- tiles

  /** A tile failed: one note per file (the tile itself shows a badge). */
  tileFailed(): void {
    if (this.tileErrorTold) return;
    this.tileErrorTold = true;
    toasts.error(viewerStrings.tileFailedToast(this.name, viewerStrings.tileFailedWhy));
  }
}

export const viewer = new ViewerStore();
