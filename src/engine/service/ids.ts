/** Short random ids for library folders and batches: URL-safe, and unguessable enough not to collide. */
import { randomBytes } from 'node:crypto';

/** 8 characters of base64url: 48 random bits. */
export const shortId = (): string => randomBytes(6).toString('base64url');
