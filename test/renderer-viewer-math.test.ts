/**
 * The viewer's pure parts: zoom and pan (fit, zoom at the cursor, clamping, the ladder, typed
 * percentages, the visible rectangle), which tiles a view needs (levels with the device pixel
 * ratio, split spans), the tile scheduler (a few in flight, stale ones dropped, coarse levels kept
 * until the new level covers the view), and the key map.
 */
import { describe, expect, it } from 'vitest';
import { tileRect, tilesAcross, VIEW_TILE } from '../src/ipc/viewer-tiles';
import { viewerAction, type KeyLike } from '../src/renderer/src/lib/viewer/keys';
import { levelFor, paintOrder, TileScheduler, wantedTiles, type Tile } from '../src/renderer/src/lib/viewer/tiles';
import {
  clampPan, fitView, fitZoom, isFitted, MAX_ZOOM, panBy, parseZoomPercent, stepZoom, visibleRect, wheelFactor, zoomAt,
  zoomPercentText, ZOOM_STEPS, type View,
} from '../src/renderer/src/lib/viewer/zoom';

const big = { width: 6000, height: 4000 };
const screen = { width: 1600, height: 900 };

describe('fit and clamping', () => {
  it('fits a large photo whole and centred, and never enlarges a small one', () => {
    const v = fitView(big, screen);
    expect(v.zoom).toBeCloseTo(900 / 4000);
    expect(v.y).toBeCloseTo(0);
    expect(v.x).toBeCloseTo((1600 - 6000 * v.zoom) / 2);
    const small = fitView({ width: 640, height: 480 }, screen);
    expect(small).toEqual({ zoom: 1, x: 480, y: 210 });
    expect(isFitted(v, big, screen)).toBe(true);
    expect(isFitted({ ...v, zoom: 1 }, big, screen)).toBe(false);
  });

  it('keeps an image larger than the view covering it, and centres one that is smaller', () => {
    // Dragged far to the right at 100 %: the left edge may not leave the viewport's left edge.
    expect(clampPan({ zoom: 1, x: 500, y: -100 }, big, screen)).toEqual({ zoom: 1, x: 0, y: -100 });
    // Dragged far left: the right edge stops at the viewport's right edge.
    expect(clampPan({ zoom: 1, x: -99_999, y: -99_999 }, big, screen)).toEqual({ zoom: 1, x: 1600 - 6000, y: 900 - 4000 });
    const tiny = clampPan({ zoom: 0.1, x: -300, y: 999 }, big, screen);
    expect(tiny).toEqual({ zoom: 0.1, x: (1600 - 600) / 2, y: (900 - 400) / 2 });
  });

  it('pans by a drag, clamped', () => {
    const at100: View = { zoom: 1, x: -1000, y: -1000 };
    expect(panBy(at100, 30, -20, big, screen)).toEqual({ zoom: 1, x: -970, y: -1020 });
    expect(panBy(at100, 5000, 0, big, screen).x).toBe(0);
  });
});

describe('zoom at a point', () => {
  it('keeps the image point under the cursor where it is', () => {
    const from = fitView(big, screen);
    const cursor = { x: 1200, y: 300 };
    const before = { x: (cursor.x - from.x) / from.zoom, y: (cursor.y - from.y) / from.zoom };
    const to = zoomAt(from, 1, cursor, big, screen);
    expect(to.zoom).toBe(1);
    expect((cursor.x - to.x) / to.zoom).toBeCloseTo(before.x, 6);
    expect((cursor.y - to.y) / to.zoom).toBeCloseTo(before.y, 6);
  });

  it('clamps the zoom to the ladder ends (below only as far as fitting a huge image needs)', () => {
    expect(zoomAt(fitView(big, screen), 1000, { x: 0, y: 0 }, big, screen).zoom).toBe(MAX_ZOOM);
    expect(zoomAt(fitView(big, screen), 0.0001, { x: 0, y: 0 }, big, screen).zoom).toBe(ZOOM_STEPS[0]);
    const huge = { width: 100_000, height: 60_000 };
    const fit = fitZoom(huge, screen);
    expect(fit).toBeLessThan(ZOOM_STEPS[0]);
    expect(zoomAt(fitView(huge, screen), 0.0001, { x: 0, y: 0 }, huge, screen).zoom).toBeCloseTo(fit);
  });

  it('steps along the ladder from any zoom, without getting stuck on a rung', () => {
    expect(stepZoom(1, 1)).toBe(1.5);
    expect(stepZoom(1, -1)).toBeCloseTo(2 / 3);
    expect(stepZoom(0.21, 1)).toBe(0.25);
    expect(stepZoom(0.21, -1)).toBeCloseTo(1 / 6);
    expect(stepZoom(1.0000001, 1)).toBe(1.5);
    expect(stepZoom(16, 1)).toBe(16);
    expect(stepZoom(ZOOM_STEPS[0], -1)).toBe(ZOOM_STEPS[0]);
    let z = ZOOM_STEPS[0];
    for (let i = 1; i < ZOOM_STEPS.length; i++) z = stepZoom(z, 1);
    expect(z).toBe(16);
  });

  it('turns wheel distance into a factor: up zooms in, down zooms out, lines and pixels alike', () => {
    expect(wheelFactor(-100, 0)).toBeGreaterThan(1.2);
    expect(wheelFactor(-100, 0)).toBeLessThan(1.3);
    expect(wheelFactor(100, 0)).toBeCloseTo(1 / wheelFactor(-100, 0));
    expect(wheelFactor(-3, 1)).toBeCloseTo(wheelFactor(-48, 0));
    // One huge event cannot jump more than a few steps.
    expect(wheelFactor(-100_000, 0)).toBe(wheelFactor(-300, 0));
  });
});

describe('typed and shown percentages', () => {
  it('reads what people type', () => {
    expect(parseZoomPercent('150')).toBe(1.5);
    expect(parseZoomPercent(' 150 % ')).toBe(1.5);
    expect(parseZoomPercent('12,5%')).toBe(0.125);
    expect(parseZoomPercent('.5')).toBe(0.005);
    for (const bad of ['', 'abc', '0', '-50', '1e3', '50%%', '%']) expect(parseZoomPercent(bad), bad).toBeNull();
  });

  it('shows a zoom as a short percentage', () => {
    expect(zoomPercentText(1)).toBe('100');
    expect(zoomPercentText(0.225)).toBe('22.5');
    expect(zoomPercentText(0.0625)).toBe('6.25');
    expect(zoomPercentText(1 / 3)).toBe('33.3');
    expect(zoomPercentText(16)).toBe('1600');
    expect(zoomPercentText(0.5)).toBe('50');
  });
});

describe('visible rectangle and tiles', () => {
  it('gives the image part the view shows, clipped to the image', () => {
    expect(visibleRect({ zoom: 1, x: -1000, y: -500 }, big, screen)).toEqual({ x: 1000, y: 500, width: 1600, height: 900 });
    const fit = fitView(big, screen);
    const r = visibleRect(fit, big, screen)!;
    expect(r.x).toBeCloseTo(0);
    expect(r.width).toBeCloseTo(6000);
    expect(r.height).toBeCloseTo(4000);
    expect(visibleRect({ zoom: 1, x: 5000, y: 0 }, big, screen)).toBeNull();
  });

  it('counts device pixels when picking the level', () => {
    expect(levelFor({ zoom: 1, x: 0, y: 0 }, big, 1)).toBe(0);
    expect(levelFor({ zoom: 0.5, x: 0, y: 0 }, big, 1)).toBe(1);
    // A 2× screen at 50 % shows every image pixel: full resolution.
    expect(levelFor({ zoom: 0.5, x: 0, y: 0 }, big, 2)).toBe(0);
    expect(levelFor({ zoom: 0.225, x: 0, y: 0 }, big, 1)).toBe(2);
    expect(levelFor({ zoom: 0.225, x: 0, y: 0 }, big, 2)).toBe(1);
  });

  it('asks at 100 % only for the tiles under the screen, centre first', () => {
    const view: View = { zoom: 1, x: -2000, y: -1500 };
    const tiles = wantedTiles('sgai', big, view, screen, 1);
    // x 2000..3600 → columns 3..7 (512 px tiles), y 1500..2400 → rows 2..4.
    const cols = new Set(tiles.map((t) => t.tx));
    const rows = new Set(tiles.map((t) => t.ty));
    expect([...cols].sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7]);
    expect([...rows].sort((a, b) => a - b)).toEqual([2, 3, 4]);
    expect(tiles).toHaveLength(15);
    expect(tiles.every((t) => t.level === 0 && t.layer === 'sgai' && t.key === `sgai/0/${t.tx}/${t.ty}`)).toBe(true);
    // The centre (2800, 1950) lies in tile (5, 3).
    expect(tiles[0]).toMatchObject({ tx: 5, ty: 3 });
    expect(tiles[0].rect).toEqual(tileRect(6000, 4000, 0, 5, 3));
  });

  it('covers the whole image at fit with the coarse level, and only one side of a split', () => {
    const fit = fitView(big, screen);
    const level = levelFor(fit, big, 1);
    const all = wantedTiles('sgai', big, fit, screen, 1);
    const { cols, rows } = tilesAcross(6000, 4000, level);
    expect(all).toHaveLength(cols * rows);
    const leftHalf = wantedTiles('sgai', big, fit, screen, 1, { from: 0, to: fit.x + 3000 * fit.zoom });
    const rightHalf = wantedTiles('original', big, fit, screen, 1, { from: fit.x + 3000 * fit.zoom, to: screen.width });
    const span = VIEW_TILE * 2 ** level;
    expect(leftHalf.every((t) => t.tx * span < 3000)).toBe(true);
    expect(rightHalf.every((t) => (t.tx + 1) * span > 3000)).toBe(true);
    expect(leftHalf.length).toBeLessThan(all.length);
    expect(rightHalf.every((t) => t.layer === 'original')).toBe(true);
    expect(wantedTiles('sgai', big, fit, screen, 1, { from: 0, to: 0 })).toEqual([]);
  });
});

describe('TileScheduler', () => {
  const tile = (tx: number, level = 0, layer: Tile['layer'] = 'sgai'): Tile => ({
    key: `${layer}/${level}/${tx}/0`, layer, level, tx, ty: 0, rect: { x: 0, y: 0, width: 1, height: 1, outWidth: 1, outHeight: 1 },
  });

  it('keeps at most `limit` tiles in flight, most urgent first', () => {
    const s = new TileScheduler(2);
    const started = s.want([tile(0), tile(1), tile(2), tile(3)]);
    expect(started.map((t) => t.tx)).toEqual([0, 1]);
    expect(s.running).toBe(2);
    expect(s.queued).toBe(2);
    expect(s.settle('sgai/0/0/0', true).map((t) => t.tx)).toEqual([2]);
    expect(s.status('sgai/0/0/0')).toBe('loaded');
    expect(s.status('sgai/0/3/0')).toBe('queued');
  });

  it('drops queued tiles the view moved away from, and lets running ones finish', () => {
    const s = new TileScheduler(2);
    s.want([tile(0), tile(1), tile(2), tile(3)]);
    // The view moved: tiles 2 and 3 are no longer needed; 8 and 9 are.
    expect(s.want([tile(8), tile(9)])).toEqual([]);
    expect(s.status('sgai/0/2/0')).toBeNull();
    expect(s.status('sgai/0/0/0')).toBe('running');
    expect(s.settle('sgai/0/0/0', true).map((t) => t.tx)).toEqual([8]);
    expect(s.settle('sgai/0/1/0', true).map((t) => t.tx)).toEqual([9]);
  });

  it('keeps the old level on screen until the new one covers the view, then forgets it', () => {
    const s = new TileScheduler(4);
    s.want([tile(0, 2), tile(1, 2)]);
    s.settle('sgai/2/0/0', true);
    s.settle('sgai/2/1/0', true);
    // Zoomed in: level 1 wanted; level 2 must stay while level 1 loads.
    s.want([tile(0, 1), tile(1, 1)]);
    s.settle('sgai/1/0/0', true);
    expect(s.status('sgai/2/0/0')).toBe('loaded');
    expect(paintOrder(s.list(), 1).map((e) => e.tile.key)).toEqual(['sgai/2/0/0', 'sgai/2/1/0', 'sgai/1/0/0', 'sgai/1/1/0']);
    s.settle('sgai/1/1/0', false); // a failed tile counts as finished: the view is not waiting for it
    expect(s.status('sgai/2/0/0')).toBeNull();
    expect(s.status('sgai/1/1/0')).toBe('failed');
    expect(s.settled).toBe(true);
  });

  it('does not ask again for a failed tile while its level stays', () => {
    const s = new TileScheduler(4);
    s.want([tile(0)]);
    s.settle('sgai/0/0/0', false);
    expect(s.want([tile(0)])).toEqual([]);
    expect(s.status('sgai/0/0/0')).toBe('failed');
  });

  it('forgets a layer that is switched off and caps the tiles kept off screen', () => {
    const s = new TileScheduler(8, 2);
    s.want([tile(0, 0, 'heat'), tile(0)]);
    s.settle('heat/0/0/0', true);
    s.settle('sgai/0/0/0', true);
    s.want([tile(0)]);
    expect(s.status('heat/0/0/0')).toBeNull();
    for (let i = 1; i <= 5; i++) {
      s.want([tile(i)]);
      s.settle(`sgai/0/${i}/0`, true);
    }
    // Wanted: tile 5; kept besides it: the two most recent (3, 4).
    expect(s.list().map((e) => e.tile.tx).sort()).toEqual([3, 4, 5]);
  });
});

describe('viewer keys', () => {
  const key = (k: string, extra: Partial<KeyLike> = {}): KeyLike => ({ key: k, code: '', ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...extra });
  const off = { split: false };
  const split = { split: true };

  it('maps the common viewer keys', () => {
    expect(viewerAction(key('ArrowLeft'), off)).toBe('prev');
    expect(viewerAction(key('ArrowRight'), off)).toBe('next');
    expect(viewerAction(key('1'), off)).toBe('zoom-100');
    expect(viewerAction(key('0'), off)).toBe('fit');
    expect(viewerAction(key('+', { shiftKey: true }), off)).toBe('zoom-in');
    expect(viewerAction(key('='), off)).toBe('zoom-in');
    expect(viewerAction(key('-'), off)).toBe('zoom-out');
    expect(viewerAction(key('i'), off)).toBe('info');
    expect(viewerAction(key('I', { shiftKey: true }), off)).toBe('info');
    expect(viewerAction(key('F11'), off)).toBe('fullscreen');
    expect(viewerAction(key('Escape'), off)).toBe('escape');
  });

  it('moves the split divider only in split mode, and leaves Ctrl/Cmd shortcuts to the app', () => {
    expect(viewerAction(key('['), split)).toBe('split-left');
    expect(viewerAction(key(']'), split)).toBe('split-right');
    expect(viewerAction(key('['), off)).toBeNull();
    // Alt+1 on a Mac types "¡": the physical key decides.
    expect(viewerAction(key('¡', { altKey: true, code: 'Digit1' }), split)).toBe('split-0');
    expect(viewerAction(key('2', { altKey: true, code: 'Digit2' }), split)).toBe('split-50');
    expect(viewerAction(key('3', { altKey: true, code: 'Digit3' }), split)).toBe('split-100');
    expect(viewerAction(key('1', { altKey: true, code: 'Digit1' }), off)).toBeNull();
    expect(viewerAction(key('o', { ctrlKey: true }), off)).toBeNull();
    expect(viewerAction(key('0', { metaKey: true }), off)).toBeNull();
    expect(viewerAction(key('x'), off)).toBeNull();
  });
});
