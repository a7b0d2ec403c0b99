/** Text for log lines. */
import type { z } from 'zod';

/** Zod's issues in one log-friendly line: `field: what is wrong; ...`. */
export function issues(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join('.') || 'the request'}: ${i.message}`).join('; ');
}

/** One log line, whatever a request put in it (a path may hold a newline). */
export const oneLine = (s: string): string => s.replace(/[\u0000-\u001f\u007f]+/g, ' ');
