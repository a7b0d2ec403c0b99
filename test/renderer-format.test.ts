/** The renderer's number and text formatting: sizes, durations, ranges, changes, counts, paths. */
import { describe, expect, it } from 'vitest';
import {
  baseName, bytes, bytesRange, change, changeRange, count, duration, durationRange, megapixels, middleEllipsis, mpPerSecond, percent, plural,
} from '../src/renderer/src/lib/format';

describe('renderer format helpers', () => {
  it('counts with thousands separators and plurals', () => {
    expect(count(1234)).toBe('1,234');
    expect(count(0)).toBe('0');
    expect(count(99999.6)).toBe('100,000');
    expect(plural(1, 'photo', 'photos')).toBe('1 photo');
    expect(plural(0, 'photo', 'photos')).toBe('0 photos');
    expect(plural(1234, 'photo', 'photos')).toBe('1,234 photos');
  });

  it('states byte sizes in decimal units with two or three significant digits', () => {
    expect(bytes(0)).toBe('0 bytes');
    expect(bytes(512)).toBe('512 bytes');
    expect(bytes(999)).toBe('999 bytes');
    expect(bytes(1000)).toBe('1 KB');
    expect(bytes(3_400)).toBe('3.4 KB');
    expect(bytes(640_000)).toBe('640 KB');
    expect(bytes(12_500_000)).toBe('12.5 MB');
    expect(bytes(3_400_000_000)).toBe('3.4 GB');
    // Never "1000 KB": the unit changes before rounding reaches it.
    expect(bytes(999_600)).toBe('1 MB');
    expect(bytes(2.5e12)).toBe('2.5 TB');
  });

  it('puts a size range in one unit when it can', () => {
    expect(bytesRange(1.2e9, 1.6e9)).toBe('1.2–1.6 GB');
    expect(bytesRange(800e6, 1.2e9)).toBe('800 MB–1.2 GB');
    expect(bytesRange(1.2e9, 1.2e9)).toBe('1.2 GB');
  });

  it('says durations as a person would', () => {
    expect(duration(0)).toBe('0 s');
    expect(duration(0.2)).toBe('under 1 s');
    expect(duration(45.4)).toBe('45 s');
    expect(duration(60)).toBe('1 min');
    expect(duration(12 * 60 + 10)).toBe('12 min');
    expect(duration(72 * 60)).toBe('1 h 12 min');
    expect(duration(3 * 3600)).toBe('3 h');
    expect(duration(51 * 3600)).toBe('2 d 3 h');
  });

  it('gives duration ranges one unit when both ends share it', () => {
    expect(durationRange(12 * 60, 20 * 60)).toBe('12–20 min');
    expect(durationRange(20 * 60, 12 * 60)).toBe('12–20 min');
    expect(durationRange(40, 120)).toBe('40 s–2 min');
    expect(durationRange(5, 9)).toBe('5–9 s');
    expect(durationRange(1.5 * 3600, 3 * 3600)).toBe('1.5–3 h');
    expect(durationRange(30 * 60, 2 * 3600)).toBe('30 min–2 h');
    expect(durationRange(600, 620)).toBe('10 min');
  });

  it('signs changes with a real minus sign and ranges the bigger saving last', () => {
    expect(change(3.4e9, 1.5e9)).toBe('−56 %');
    expect(change(100, 104)).toBe('+4 %');
    expect(change(100, 100)).toBe('±0 %');
    expect(change(0, 5)).toBe('');
    expect(changeRange(3.4e9, 1.2e9, 1.6e9)).toBe('−53 to −65 %');
    expect(changeRange(100, 50, 50)).toBe('−50 %');
    expect(percent(0.5612)).toBe('56 %');
  });

  it('states speed in MP/s, with two significant digits below 0.1', () => {
    expect(mpPerSecond(21, 10)).toBe('2.1 MP/s');
    expect(mpPerSecond(0.23, 20)).toBe('0.012 MP/s');
    expect(mpPerSecond(5, 0)).toBeNull();
    expect(mpPerSecond(0, 5)).toBeNull();
  });

  it('states megapixels with sensible precision', () => {
    expect(megapixels(24.2)).toBe('24 MP');
    expect(megapixels(2.14)).toBe('2.1 MP');
    expect(megapixels(0.0192)).toBe('0.019 MP');
  });

  it('shortens text in the middle, keeping both ends', () => {
    const p = '/Volumes/Photos/2019/Summer holidays in the mountains/IMG_0001.jpg';
    const short = middleEllipsis(p, 30);
    expect(short).toHaveLength(30);
    expect(short.startsWith('/Volumes/Photo')).toBe(true);
    expect(short.endsWith('IMG_0001.jpg')).toBe(true);
    expect(short).toContain('…');
    expect(middleEllipsis('short', 30)).toBe('short');
    expect(middleEllipsis('abcdef', 1)).toBe('…');
  });

  it('takes the last segment of a path with either separator', () => {
    expect(baseName('/home/me/Pictures/')).toBe('Pictures');
    expect(baseName('C:\\Users\\me\\Pictures')).toBe('Pictures');
    expect(baseName('Pictures')).toBe('Pictures');
  });
});
