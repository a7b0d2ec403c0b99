/** The renderer's <meta> Content-Security-Policy is the contract's RENDERER_CSP, word for word. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RENDERER_CSP } from '../src/ipc/http';

const html = readFileSync(join(import.meta.dirname, '..', 'src', 'renderer', 'index.html'), 'utf8');

/** Every <meta http-equiv="Content-Security-Policy" content="…"> in the page, attributes in any order. */
function cspMetas(page: string): string[] {
  const metas = page.match(/<meta\b[^>]*>/gi) ?? [];
  return metas
    .filter((m) => /http-equiv\s*=\s*["']content-security-policy["']/i.test(m))
    .map((m) => {
      const content = /\bcontent\s*=\s*"([^"]*)"/i.exec(m) ?? /\bcontent\s*=\s*'([^']*)'/i.exec(m);
      return content ? content[1].replaceAll('&#39;', "'").replaceAll('&quot;', '"').replaceAll('&amp;', '&') : '';
    });
}

describe('renderer CSP', () => {
  it('index.html carries exactly one CSP meta tag, equal to RENDERER_CSP', () => {
    const metas = cspMetas(html);
    expect(metas).toHaveLength(1);
    expect(metas[0]).toBe(RENDERER_CSP);
  });

  it('the policy forbids inline and foreign scripts and allows the pixel scheme for images', () => {
    const directives = Object.fromEntries(RENDERER_CSP.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['img-src']).toContain('sgai-pixels:');
    expect(directives['object-src']).toEqual(["'none'"]);
  });

  it('the page loads no inline script (the CSP would block it)', () => {
    const scripts = html.match(/<script\b[^>]*>[\s\S]*?<\/script>/gi) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      expect(s).toMatch(/\bsrc\s*=/);
      expect(s.replace(/<script\b[^>]*>/i, '').replace(/<\/script>/i, '').trim()).toBe('');
    }
  });
});
