/**
 * The viewer's zoom and pan as plain numbers, so the unit tests check them without a window.
 *
 * A view is { zoom, x, y }: zoom is CSS pixels per image pixel (1 = 100 %), and (x, y) is where the
 * image's top-left corner sits in the viewport, in CSS pixels. The image is drawn with
 * `translate(x, y) scale(zoom)`, so image point (ix, iy) lands on screen at (x + ix·zoom, y + iy·zoom).
 */

export interface View {
  zoom: number;
  x: number;
  y: number;
}
export interface Size {
  width: number;
  height: number;
}
export interface Point {
  x: number;
  y: number;
}

/** The zoom ladder the +/− buttons and keys step through (6.25 % … 1600 %, as photo editors have it). */
export const ZOOM_STEPS: readonly number[] = [1 / 16, 1 / 12, 1 / 8, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 1, 1.5, 2, 3, 4, 6, 8, 12, 16];
export const MAX_ZOOM = 16;
const MIN_LADDER = ZOOM_STEPS[0];

/** Shrink-to-fit: the whole image in the viewport, never enlarged past 100 %. */
export function fitZoom(image: Size, viewport: Size): number {
  if (!(image.width > 0 && image.height > 0 && viewport.width > 0 && viewport.height > 0)) return 1;
  return Math.min(1, viewport.width / image.width, viewport.height / image.height);
}

/** The smallest zoom allowed: the ladder's bottom, or less when that is what fitting a huge image takes. */
export function minZoom(image: Size, viewport: Size): number {
  return Math.min(MIN_LADDER, fitZoom(image, viewport));
}

export function clampZoom(zoom: number, image: Size, viewport: Size): number {
  if (!Number.isFinite(zoom)) return 1;
  return Math.min(MAX_ZOOM, Math.max(minZoom(image, viewport), zoom));
}

/**
 * Keeps the image findable: along an axis where it is smaller than the viewport it is centred;
 * where it is larger, no gap may open between its edge and the viewport's.
 */
export function clampPan(view: View, image: Size, viewport: Size): View {
  const axis = (pos: number, imageLen: number, viewLen: number) => {
    const len = imageLen * view.zoom;
    if (len <= viewLen) return (viewLen - len) / 2;
    return Math.min(0, Math.max(viewLen - len, pos));
  };
  return { zoom: view.zoom, x: axis(view.x, image.width, viewport.width), y: axis(view.y, image.height, viewport.height) };
}

/** The fitted view, centred. */
export function fitView(image: Size, viewport: Size): View {
  return clampPan({ zoom: fitZoom(image, viewport), x: 0, y: 0 }, image, viewport);
}

/** Zooms to `zoom` keeping the image point under `at` (a viewport point) where it is, then clamps. */
export function zoomAt(view: View, zoom: number, at: Point, image: Size, viewport: Size): View {
  const z = clampZoom(zoom, image, viewport);
  const ix = (at.x - view.x) / view.zoom;
  const iy = (at.y - view.y) / view.zoom;
  return clampPan({ zoom: z, x: at.x - ix * z, y: at.y - iy * z }, image, viewport);
}

export const centreOf = (viewport: Size): Point => ({ x: viewport.width / 2, y: viewport.height / 2 });

/** Moves the view by a drag of (dx, dy) CSS pixels, clamped. */
export function panBy(view: View, dx: number, dy: number, image: Size, viewport: Size): View {
  return clampPan({ zoom: view.zoom, x: view.x + dx, y: view.y + dy }, image, viewport);
}

// Two zooms this close count as the same rung, so 100 % steps to 150 %, not to 100.0001 %.
const SAME = 1.001;

/** The next rung of the ladder above (dir 1) or below (dir −1) the current zoom. */
export function stepZoom(zoom: number, dir: 1 | -1): number {
  if (dir > 0) return ZOOM_STEPS.find((s) => s > zoom * SAME) ?? MAX_ZOOM;
  for (let i = ZOOM_STEPS.length - 1; i >= 0; i--) if (ZOOM_STEPS[i] * SAME < zoom) return ZOOM_STEPS[i];
  return ZOOM_STEPS[0];
}

/**
 * The zoom factor for a wheel event: exponential in the distance scrolled so a trackpad's many
 * small steps and a mouse's few big ones zoom alike. deltaMode 1 counts lines, 2 pages.
 */
export function wheelFactor(deltaY: number, deltaMode: number): number {
  const px = deltaMode === 1 ? deltaY * 16 : deltaMode === 2 ? deltaY * 400 : deltaY;
  // One mouse notch (~100 px) is about ×1.25, like one +/− step.
  const clamped = Math.max(-300, Math.min(300, px));
  return 2 ** (-clamped / 310);
}

/**
 * A typed zoom: "150", "150%", "150 %", "12.5", "12,5 %". Null when it is not a positive number.
 * The result is a factor (1.5), not clamped (the caller clamps against the image).
 */
export function parseZoomPercent(text: string): number | null {
  const t = text.trim().replace(/\s*%$/, '').replace(',', '.');
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(t)) return null;
  const v = Number(t);
  return v > 0 ? v / 100 : null;
}

/** A zoom as a percentage for reading: 1 → "100", 0.2134 → "21.3", 0.0625 → "6.25", 16 → "1600". */
export function zoomPercentText(zoom: number): string {
  const p = zoom * 100;
  if (p >= 100 || Math.abs(p - Math.round(p)) < 0.05) return String(Math.round(p));
  if (p >= 10) return (Math.round(p * 10) / 10).toString();
  return (Math.round(p * 100) / 100).toString();
}

/** Whether the view is (near enough) the fitted one: double-click then goes to 100 %. */
export function isFitted(view: View, image: Size, viewport: Size): boolean {
  return Math.abs(view.zoom - fitZoom(image, viewport)) < 1e-6;
}

/**
 * The part of the image the viewport shows, in image pixels, clipped to the image; null when none
 * of it shows. `margin` (CSS pixels) grows the viewport so tiles just outside are fetched early.
 */
export function visibleRect(view: View, image: Size, viewport: Size, margin = 0): { x: number; y: number; width: number; height: number } | null {
  if (!(view.zoom > 0)) return null;
  const x0 = Math.max(0, (-margin - view.x) / view.zoom);
  const y0 = Math.max(0, (-margin - view.y) / view.zoom);
  const x1 = Math.min(image.width, (viewport.width + margin - view.x) / view.zoom);
  const y1 = Math.min(image.height, (viewport.height + margin - view.y) / view.zoom);
  if (!(x1 > x0 && y1 > y0)) return null;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Keeps a split divider's position a fraction in [0, 1]. */
export const clampFraction = (f: number) => (Number.isFinite(f) ? Math.min(1, Math.max(0, f)) : 0.5);
