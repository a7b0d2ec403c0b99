/**
 * The browser transport's key: read from the address's fragment once, kept for reloads of the tab,
 * and removed from the address bar so it does not linger in history or bookmarks.
 */
import { describe, expect, it } from 'vitest';
import { acquireToken, tokenFromHash } from '../src/renderer/src/lib/transport-http';

function place(hash: string, stored: Record<string, string> = {}) {
  const storage = new Map(Object.entries(stored));
  let cleared = 0;
  return {
    storage,
    cleared: () => cleared,
    place: {
      hash,
      storage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v) },
      clearHash: () => void cleared++,
    },
  };
}

describe('browser token', () => {
  it('reads the token from the fragment', () => {
    expect(tokenFromHash('#token=abc_-123')).toBe('abc_-123');
    expect(tokenFromHash('#view=queue&token=xyz')).toBe('xyz');
    expect(tokenFromHash('#token=')).toBeNull();
    expect(tokenFromHash('')).toBeNull();
  });

  it('stores a token found in the address and clears the address', () => {
    const p = place('#token=first');
    expect(acquireToken(p.place)).toBe('first');
    expect(p.storage.get('sgai-token')).toBe('first');
    expect(p.cleared()).toBe(1);
  });

  it('after a reload (no fragment) uses the stored token and touches nothing', () => {
    const p = place('', { 'sgai-token': 'kept' });
    expect(acquireToken(p.place)).toBe('kept');
    expect(p.cleared()).toBe(0);
  });

  it('a new address wins over a stored token (a restarted server has a new key)', () => {
    const p = place('#token=new', { 'sgai-token': 'old' });
    expect(acquireToken(p.place)).toBe('new');
    expect(p.storage.get('sgai-token')).toBe('new');
  });

  it('no token anywhere: null, so the app can say how to open it', () => {
    expect(acquireToken(place('').place)).toBeNull();
  });
});
