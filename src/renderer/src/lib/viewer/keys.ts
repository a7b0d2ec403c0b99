/**
 * The viewer's keyboard, as in common photo viewers (qView, ImageGlass, Geeqie): ←/→ previous and
 * next file, 1 = 100 %, 0 = fit, +/− zoom, I = info, F11 = full screen, Esc closes a panel or
 * full screen. The split divider: [ and ] move it by a tenth; Alt+1 / Alt+2 / Alt+3 put it at
 * 0 / 50 / 100 % (Squoosh's 1/2/3, with Alt because 1 already means 100 %). A pure mapping from
 * the key to an action, so the tests need no window; HelpSheet lists the same keys.
 */

export type ViewerAction =
  | 'prev' | 'next' | 'zoom-100' | 'fit' | 'zoom-in' | 'zoom-out' | 'info' | 'fullscreen' | 'escape'
  | 'split-left' | 'split-right' | 'split-0' | 'split-50' | 'split-100';

export interface KeyLike {
  key: string;
  /** The physical key ("Digit1"): Alt changes what `key` says on a Mac. */
  code: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
}

/** How far [ and ] move the split divider. */
export const SPLIT_NUDGE = 0.1;

export function viewerAction(e: KeyLike, ctx: { split: boolean }): ViewerAction | null {
  // Browser and menu shortcuts (Ctrl/Cmd+…) are left alone.
  if (e.ctrlKey || e.metaKey) return null;
  if (e.key === 'F11') return 'fullscreen';
  if (e.key === 'Escape') return 'escape';
  if (e.altKey) {
    if (!ctx.split) return null;
    const at: Record<string, ViewerAction> = { Digit1: 'split-0', Digit2: 'split-50', Digit3: 'split-100', Numpad1: 'split-0', Numpad2: 'split-50', Numpad3: 'split-100' };
    return at[e.code] ?? null;
  }
  switch (e.key) {
    case 'ArrowLeft': return e.shiftKey ? null : 'prev';
    case 'ArrowRight': return e.shiftKey ? null : 'next';
    case '1': return 'zoom-100';
    case '0': return 'fit';
    case '+': case '=': return 'zoom-in';
    case '-': case '_': return 'zoom-out';
    case 'i': case 'I': return 'info';
    case '[': return ctx.split ? 'split-left' : null;
    case ']': return ctx.split ? 'split-right' : null;
    default: return null;
  }
}
