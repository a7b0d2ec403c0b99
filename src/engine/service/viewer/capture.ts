/**
 * What the info panel says about how a photo was taken, from the EXIF a .sgai keeps (raw TIFF
 * bytes, which exifr reads as a TIFF file): camera, lens, date as recorded, exposure in words,
 * GPS, copyright, artist. Missing tags are simply left out.
 */
import exifr from 'exifr';
import type { CaptureInfo } from '../../../ipc/schemas';

type Tags = Record<string, unknown>;

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.replace(/\0+$/, '').trim() ? v.replace(/\0+$/, '').trim() : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : Array.isArray(v) && typeof v[0] === 'number' ? v[0] : undefined);

/** "Canon EOS R5", not "Canon Canon EOS R5"; "NIKON D750" for "NIKON CORPORATION" + "NIKON D750". */
export function cameraName(make: string | undefined, model: string | undefined): string | undefined {
  if (!make) return model;
  if (!model) return make;
  const brand = make.split(/\s+/)[0].toLowerCase();
  return model.toLowerCase().startsWith(brand) ? model : `${make} ${model}`;
}

/** "1/250 s", "0.8 s", "30 s". */
export function shutterSpeed(seconds: number): string {
  if (seconds > 0 && seconds < 1) {
    const inverse = 1 / seconds;
    // 1/3 s is 0.333…: say 1/3, but 0.8 s stays 0.8 s (1/1.25 reads worse).
    if (Math.abs(inverse - Math.round(inverse)) < 0.05 * inverse && inverse >= 1.9) return `1/${Math.round(inverse)} s`;
    return `${Number(seconds.toPrecision(2))} s`;
  }
  return `${Number(seconds.toPrecision(3))} s`;
}

/** "1/250 s · f/5.6 · ISO 200 · 35 mm", with whatever of the four is recorded. */
export function exposureWords(t: Tags): string | undefined {
  const parts: string[] = [];
  const time = num(t.ExposureTime);
  if (time !== undefined && time > 0) parts.push(shutterSpeed(time));
  const f = num(t.FNumber);
  if (f !== undefined && f > 0) parts.push(`f/${Number(f.toFixed(1))}`);
  const iso = num(t.ISO) ?? num(t.ISOSpeedRatings) ?? num(t.PhotographicSensitivity);
  if (iso !== undefined && iso > 0) parts.push(`ISO ${Math.round(iso)}`);
  const focal = num(t.FocalLength);
  if (focal !== undefined && focal > 0) parts.push(`${Number(focal.toFixed(1))} mm`);
  return parts.length ? parts.join(' · ') : undefined;
}

/** EXIF's "2024:05:06 07:08:09" (+ its offset tag, when there is one) as ISO 8601; no zone is invented. */
export function exifDate(value: unknown, offset: unknown): string | undefined {
  const m = typeof value === 'string' ? /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(value) : null;
  if (!m || m[1] === '0000') return undefined;
  const zone = typeof offset === 'string' && /^[+-]\d{2}:\d{2}$/.test(offset.trim()) ? offset.trim() : '';
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${zone}`;
}

function gpsOf(t: Tags): CaptureInfo['gps'] {
  const latitude = num(t.latitude);
  const longitude = num(t.longitude);
  if (latitude === undefined || longitude === undefined || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  let altitude = num(t.GPSAltitude);
  // GPSAltitudeRef 1: below sea level.
  if (altitude !== undefined && num(t.GPSAltitudeRef instanceof Uint8Array ? t.GPSAltitudeRef[0] : t.GPSAltitudeRef) === 1) altitude = -altitude;
  return { latitude, longitude, ...(altitude !== undefined ? { altitude } : {}) };
}

/** Capture info from raw EXIF (TIFF) bytes; throws when exifr cannot read them (the caller warns). */
export async function captureInfo(exif: Uint8Array): Promise<CaptureInfo> {
  const t = ((await exifr.parse(Buffer.from(exif.buffer, exif.byteOffset, exif.byteLength), {
    tiff: true, exif: true, gps: true, ifd1: false, interop: false, xmp: false, icc: false, iptc: false, jfif: false, ihdr: false,
    // Dates as recorded (exifr would read a zone-less time as this machine's local time); numbers as numbers.
    reviveValues: false, translateValues: false, mergeOutput: true,
  })) ?? {}) as Tags;
  const lens = text(t.LensModel) ?? text(t.Lens);
  const lensMake = text(t.LensMake);
  const info: CaptureInfo = {
    camera: cameraName(text(t.Make), text(t.Model)),
    lens: lens && lensMake && !lens.toLowerCase().startsWith(lensMake.toLowerCase()) ? `${lensMake} ${lens}` : lens,
    date: exifDate(t.DateTimeOriginal, t.OffsetTimeOriginal) ?? exifDate(t.CreateDate, t.OffsetTimeDigitized) ?? exifDate(t.ModifyDate, t.OffsetTime),
    exposure: exposureWords(t),
    gps: gpsOf(t),
    copyright: text(t.Copyright),
    artist: text(t.Artist),
  };
  return Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)) as CaptureInfo;
}
