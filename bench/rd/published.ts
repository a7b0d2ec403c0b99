/**
 * Published Kodak (24 images) bpp / PSNR-RGB numbers, for context only: they were measured by
 * others with other tools, and are never mixed into our own curves or anchors.
 * Source: shared/docs/sgaplus-method.md §7 (CompressAI mbt2018-mean real bitstreams; classic
 * codecs as reported alongside it).
 */
export interface PublishedCurve {
  id: string;
  label: string;
  points: Array<{ bpp: number; psnr: number }>;
}

const curve = (id: string, label: string, bpp: number[], psnr: number[]): PublishedCurve => ({
  id,
  label,
  points: bpp.map((b, i) => ({ bpp: b, psnr: psnr[i] })),
});

export const PUBLISHED_SOURCE = 'shared/docs/sgaplus-method.md §7 (Kodak, 24 images, PSNR-RGB)';

export const PUBLISHED_KODAK: PublishedCurve[] = [
  curve('mbt2018-mean', 'CompressAI mbt2018-mean q1–q8', [0.124, 0.198, 0.307, 0.461, 0.662, 0.914, 1.234, 1.619], [27.7, 29.36, 31.13, 32.95, 34.97, 36.91, 38.84, 40.63]),
  curve('vtm', 'VTM', [0.112, 0.246, 0.491, 0.875], [28.49, 31.2, 34.26, 37.42]),
  curve('bpg444', 'BPG-444', [0.161, 0.352, 0.685, 1.2], [28.68, 31.59, 34.86, 38.26]),
  curve('av1', 'AV1', [0.11, 0.246, 0.499, 0.909], [27.56, 30.44, 33.65, 36.99]),
  curve('webp', 'WebP', [0.296, 0.461, 0.675, 0.998], [29.15, 30.94, 32.88, 35.1]),
  curve('jpeg-pillow', 'JPEG (Pillow)', [0.327, 0.508, 0.729, 1.037], [26.58, 29.04, 30.9, 32.79]),
];
