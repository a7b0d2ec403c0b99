/**
 * The main window's size and position, remembered in userData/window-state.json so the app opens
 * where the photographer left it. A missing or damaged file, or a position on a display that is no
 * longer attached, falls back to a centred default window.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const MIN_WIDTH = 880;
export const MIN_HEIGHT = 560;
const DEFAULT = { width: 1280, height: 820 };

const Saved = z.object({
  width: z.number().int().min(MIN_WIDTH).max(100_000),
  height: z.number().int().min(MIN_HEIGHT).max(100_000),
  x: z.number().int().optional(),
  y: z.number().int().optional(),
  maximized: z.boolean().default(false),
});
export type WindowState = z.infer<typeof Saved>;

/** Reads the saved state; keeps x/y only when the window's title bar would land on a display. */
export function loadWindowState(file: string, workAreas: Rect[]): WindowState {
  let state: WindowState;
  try {
    state = Saved.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return { ...DEFAULT, maximized: false };
  }
  if (state.x === undefined || state.y === undefined) return { ...state, x: undefined, y: undefined };
  const { x, y } = state;
  // The top 40 px (where the title bar is) must be reachable, or the window could not be dragged back.
  const visible = workAreas.some((a) => x + 40 < a.x + a.width && x + state.width - 40 > a.x && y >= a.y && y + 40 <= a.y + a.height);
  return visible ? state : { ...state, x: undefined, y: undefined };
}

export function saveWindowState(file: string, bounds: Rect, maximized: boolean): void {
  const state: WindowState = {
    width: Math.max(MIN_WIDTH, Math.round(bounds.width)),
    height: Math.max(MIN_HEIGHT, Math.round(bounds.height)),
    x: Math.round(bounds.x),
    y: Math.round(bounds.y),
    maximized,
  };
  mkdirSync(dirname(file), { recursive: true });
  // Write then rename: a crash mid-write leaves the previous state, never half a JSON.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state)}\n`);
  renameSync(tmp, file);
}
