/**
 * Number and text formatting for what the photographer reads: byte sizes, durations, ranges,
 * counts and plurals, percentages, and paths shortened in the middle. Pure functions, no DOM, so
 * the unit tests run them as they are. Sizes are decimal (1 MB = 1,000,000 bytes), as camera
 * makers, macOS and disk labels count them; every number uses one locale so a sentence reads the
 * same everywhere.
 */

const LOCALE = 'en-US';
const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });

/** 1234 → "1,234". */
export function count(n: number): string {
  return integer.format(Math.round(n));
}

/** "1 photo", "1,234 photos". */
export function plural(n: number, one: string, many: string): string {
  return `${count(n)} ${Math.round(n) === 1 ? one : many}`;
}

const BYTE_UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'] as const;

/** The unit a size is shown in, so a range can share it ("1.2–1.6 GB"). */
function byteUnit(n: number): number {
  let u = 0;
  // Switch unit at 999.5 so rounding never shows "1000 KB".
  while (u < BYTE_UNITS.length - 1 && Math.abs(n) >= 999.5 * 1000 ** u) u++;
  return u;
}

/** Two or three significant digits: "3.4 GB", "12.5 MB", "640 KB". */
function scaled(n: number, u: number): string {
  const v = n / 1000 ** u;
  if (u === 0) return count(v);
  const digits = Math.abs(v) < 100 ? 1 : 0;
  return v.toLocaleString(LOCALE, { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

/** 3_400_000_000 → "3.4 GB"; 512 → "512 bytes". */
export function bytes(n: number): string {
  const u = byteUnit(n);
  return `${scaled(n, u)} ${BYTE_UNITS[u]}`;
}

/** A range of sizes in one unit: "1.2–1.6 GB" (or "800 MB–1.2 GB" when they differ). */
export function bytesRange(low: number, high: number): string {
  const uLow = byteUnit(low);
  const uHigh = byteUnit(high);
  if (uLow === uHigh) {
    const a = scaled(low, uHigh);
    const b = scaled(high, uHigh);
    return a === b ? `${b} ${BYTE_UNITS[uHigh]}` : `${a}–${b} ${BYTE_UNITS[uHigh]}`;
  }
  return `${bytes(low)}–${bytes(high)}`;
}

/** Seconds as a person says them: "under 1 s", "45 s", "12 min", "1 h 12 min", "2 d 3 h". */
export function duration(seconds: number): string {
  if (seconds > 0 && seconds < 0.5) return 'under 1 s';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** Which unit a duration range is stated in, so both ends share it. */
function durationUnit(seconds: number): 's' | 'min' | 'h' {
  if (seconds < 60) return 's';
  if (seconds < 3600) return 'min';
  return 'h';
}

/** A range of durations: "12–20 min", "40 s–2 min", "1.5–3 h"; one value when both ends round alike. */
export function durationRange(low: number, high: number): string {
  const lo = Math.max(0, Math.min(low, high));
  const hi = Math.max(0, Math.max(low, high));
  const unit = durationUnit(hi);
  if (unit === 'h') {
    const f = (v: number) => (v / 3600).toLocaleString(LOCALE, { maximumFractionDigits: v / 3600 < 10 ? 1 : 0 });
    if (durationUnit(lo) !== 'h') return `${duration(lo)}–${f(hi)} h`;
    return f(lo) === f(hi) ? `${f(hi)} h` : `${f(lo)}–${f(hi)} h`;
  }
  if (durationUnit(lo) !== unit) return `${duration(lo)}–${duration(hi)}`;
  const div = unit === 's' ? 1 : 60;
  const a = count(Math.max(unit === 'min' ? 1 : 0, lo / div));
  const b = count(Math.max(unit === 'min' ? 1 : 0, hi / div));
  return a === b ? `${b} ${unit}` : `${a}–${b} ${unit}`;
}

/** A signed change in percent from before to after: 3.4 GB → 1.5 GB gives "−56 %"; growth gives "+4 %". */
export function change(before: number, after: number): string {
  if (!(before > 0)) return '';
  const p = Math.round(((after - before) / before) * 100);
  return p > 0 ? `+${p} %` : p < 0 ? `−${-p} %` : '±0 %';
}

/**
 * A change range, the bigger saving last: ("−55 to −65 %"). `low` and `high` are the outputs'
 * smallest and largest size.
 */
export function changeRange(before: number, lowAfter: number, highAfter: number): string {
  if (!(before > 0)) return '';
  const a = change(before, highAfter).replace(' %', '');
  const b = change(before, lowAfter).replace(' %', '');
  return a === b ? `${b} %` : `${a} to ${b} %`;
}

/** 0.5612 → "56 %". */
export function percent(fraction: number): string {
  return `${Math.round(fraction * 100)} %`;
}

/** Megapixels per second, one decimal: "2.1 MP/s". */
export function mpPerSecond(mp: number, seconds: number): string | null {
  if (!(seconds > 0) || !(mp > 0)) return null;
  const v = mp / seconds;
  // Small photos on a slow machine: two significant digits rather than "0.0".
  const text = v >= 0.1 ? v.toLocaleString(LOCALE, { maximumFractionDigits: 1, minimumFractionDigits: 1 }) : v.toLocaleString(LOCALE, { maximumSignificantDigits: 2 });
  return `${text} MP/s`;
}

/** A photo's size in megapixels: "24 MP", "2.1 MP", "0.019 MP". */
export function megapixels(mp: number): string {
  const text = mp >= 10 ? count(mp) : mp >= 1 ? mp.toLocaleString(LOCALE, { maximumFractionDigits: 1 }) : mp.toLocaleString(LOCALE, { maximumSignificantDigits: 2 });
  return `${text} MP`;
}

/**
 * Shortens text to at most `max` characters by cutting out its middle, so both a path's root and
 * its file name stay readable: "/Volumes/Photos/…/2019/IMG_0001.jpg".
 */
export function middleEllipsis(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return '…';
  const keep = max - 1;
  const tail = Math.ceil(keep / 2);
  const head = keep - tail;
  return `${text.slice(0, head)}…${text.slice(text.length - tail)}`;
}

/** The last segment of a path, either separator. */
export function baseName(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, '');
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return i < 0 ? trimmed : trimmed.slice(i + 1) || trimmed;
}
