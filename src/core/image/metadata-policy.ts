/**
 * Which metadata travels from a photo into its .sgai (and from there into every PNG/JPEG
 * exported from it): 'all', 'no-location' (all but where it was taken and the camera's and lens'
 * serial numbers) or 'copyright' (the rights statement and the author only). Applied once, when
 * the photo is read, so every encode path gets the same result. The ICC profile is colour, not
 * personal data, and is always kept. See docs/image-handling.md, "Metadata policy".
 */
import { MalformedExif, rewriteExif } from './exif-policy';
import { MalformedXmp, rewriteXmp } from './xmp-policy';

export const METADATA_POLICIES = ['all', 'no-location', 'copyright'] as const;
export type MetadataPolicy = (typeof METADATA_POLICIES)[number];

export function isMetadataPolicy(v: unknown): v is MetadataPolicy {
  return typeof v === 'string' && (METADATA_POLICIES as readonly string[]).includes(v);
}

export interface PolicyMetadata {
  /** Raw EXIF, TIFF header onwards. */
  exif?: Uint8Array;
  xmp?: Uint8Array;
}

/**
 * The EXIF and XMP a policy lets through. Under 'all' both are returned untouched; under the
 * stricter policies EXIF or XMP that cannot be parsed with confidence is dropped entirely.
 */
export function applyMetadataPolicy(md: PolicyMetadata, policy: MetadataPolicy): PolicyMetadata {
  if (policy === 'all') return md;
  const out: PolicyMetadata = {};
  if (md.exif) {
    try {
      out.exif = rewriteExif(md.exif, policy);
    } catch (e) {
      if (!(e instanceof MalformedExif)) throw e;
    }
  }
  if (md.xmp) {
    try {
      out.xmp = rewriteXmp(md.xmp, policy);
    } catch (e) {
      if (!(e instanceof MalformedXmp)) throw e;
    }
  }
  return out;
}
