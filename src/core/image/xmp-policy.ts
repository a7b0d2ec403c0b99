/**
 * XMP under a stricter metadata policy. The packet is parsed by a small XML walker (elements,
 * attributes, namespaces; no DTDs, no entity expansion) and the properties the policy removes are
 * cut out of the text by their exact spans, so the rest stays byte for byte as it was. Anything
 * the walker cannot follow throws MalformedXmp, and the caller drops the packet: a parser that
 * fails open would leak exactly what the photographer asked to remove.
 * See docs/image-handling.md, "Metadata policy".
 */
import type { StrictPolicy } from './exif-policy';

export class MalformedXmp extends Error {}

const NS = {
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
  xml: 'http://www.w3.org/XML/1998/namespace',
  exif: 'http://ns.adobe.com/exif/1.0/',
  aux: 'http://ns.adobe.com/exif/1.0/aux/',
  exifEX: 'http://cipa.jp/exif/1.0/',
  photoshop: 'http://ns.adobe.com/photoshop/1.0/',
  Iptc4xmpCore: 'http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/',
  Iptc4xmpExt: 'http://iptc.org/std/Iptc4xmpExt/2008-02-29/',
  dc: 'http://purl.org/dc/elements/1.1/',
  xmpRights: 'http://ns.adobe.com/xap/1.0/rights/',
} as const;
type Prefix = keyof typeof NS;

/** Where the photo was taken and which camera/lens (by serial) took it, per namespace. */
const LOCATION_AND_SERIALS: Partial<Record<Prefix, readonly string[]>> = {
  photoshop: ['City', 'State', 'Country'],
  Iptc4xmpCore: ['Location', 'CountryCode'],
  Iptc4xmpExt: ['LocationShown', 'LocationCreated'],
  aux: ['SerialNumber', 'LensSerialNumber'],
  exifEX: ['BodySerialNumber', 'LensSerialNumber'],
};
/** The rights statement and who to credit. */
const COPYRIGHT_KEEP: Partial<Record<Prefix, readonly string[] | '*'>> = {
  dc: ['rights', 'creator'],
  xmpRights: '*',
  photoshop: ['Credit', 'Source'],
};

interface Name {
  prefix: string;
  local: string;
  /** Namespace URI ('' for an unprefixed attribute). */
  uri: string;
}
interface Attr extends Name {
  raw: string;
  /** Span in the text, including the whitespace before it. */
  start: number;
  end: number;
}
interface Element extends Name {
  kind: 'element';
  raw: string;
  attrs: Attr[];
  children: XmlNode[];
  start: number;
  end: number;
}
interface Leaf {
  kind: 'text' | 'comment' | 'pi';
  start: number;
  end: number;
}
type XmlNode = Element | Leaf;

// ---- the walker -------------------------------------------------------------------------------

const START_TAG = /<([^\s/>!?]+)/y;
const ATTRIBUTE = /(\s+)([^\s=/>]+)\s*=\s*("[^"<]*"|'[^'<]*')/y;
const TAG_END = /\s*(\/?)>/y;
const END_TAG = /<\/([^\s>]+)\s*>/y;
const NAME_PART = /^[A-Za-z_\u00c0-\uffff][\w.\-\u00b7-\uffff]*$/;

function parse(s: string): XmlNode[] {
  const top: XmlNode[] = [];
  const open: Element[] = [];
  const add = (n: XmlNode) => (open.length ? open[open.length - 1].children : top).push(n);
  const upTo = (close: string, from: number, what: string) => {
    const j = s.indexOf(close, from);
    if (j < 0) throw new MalformedXmp(`unterminated ${what}`);
    return j + close.length;
  };
  let i = 0;
  while (i < s.length) {
    if (s[i] !== '<') {
      const j = s.indexOf('<', i);
      const end = j < 0 ? s.length : j;
      add({ kind: 'text', start: i, end });
      i = end;
    } else if (s.startsWith('<!--', i)) {
      const end = upTo('-->', i + 4, 'comment');
      add({ kind: 'comment', start: i, end });
      i = end;
    } else if (s.startsWith('<![CDATA[', i)) {
      if (!open.length) throw new MalformedXmp('CDATA outside an element');
      const end = upTo(']]>', i + 9, 'CDATA section');
      add({ kind: 'text', start: i, end });
      i = end;
    } else if (s.startsWith('<?', i)) {
      const end = upTo('?>', i + 2, 'processing instruction');
      add({ kind: 'pi', start: i, end });
      i = end;
    } else if (s.startsWith('<!', i)) {
      throw new MalformedXmp('document type declarations are not accepted in XMP');
    } else if (s.startsWith('</', i)) {
      END_TAG.lastIndex = i;
      const m = END_TAG.exec(s);
      const el = open.pop();
      if (!m || !el || m[1] !== el.raw) throw new MalformedXmp(`unexpected end tag at ${i}`);
      el.end = END_TAG.lastIndex;
      i = el.end;
    } else {
      START_TAG.lastIndex = i;
      const m = START_TAG.exec(s);
      if (!m) throw new MalformedXmp(`bad tag at ${i}`);
      const el: Element = { kind: 'element', raw: m[1], prefix: '', local: '', uri: '', attrs: [], children: [], start: i, end: -1 };
      let p = START_TAG.lastIndex;
      for (;;) {
        ATTRIBUTE.lastIndex = p;
        const a = ATTRIBUTE.exec(s);
        if (!a) break;
        el.attrs.push({ raw: a[2], prefix: '', local: '', uri: '', start: p, end: ATTRIBUTE.lastIndex });
        p = ATTRIBUTE.lastIndex;
      }
      TAG_END.lastIndex = p;
      const t = TAG_END.exec(s);
      if (!t) throw new MalformedXmp(`bad attribute in <${el.raw}> at ${p}`);
      add(el);
      if (t[1]) el.end = TAG_END.lastIndex;
      else open.push(el);
      i = TAG_END.lastIndex;
    }
  }
  if (open.length) throw new MalformedXmp(`<${open[open.length - 1].raw}> is never closed`);
  for (const n of top) {
    if (n.kind === 'text' && !/^[\s\0]*$/.test(s.slice(n.start, n.end))) throw new MalformedXmp('text outside the root element');
  }
  if (!top.some((n) => n.kind === 'element')) throw new MalformedXmp('no element');
  return top;
}

function splitName(raw: string): { prefix: string; local: string } {
  const parts = raw.split(':');
  if (parts.length > 2 || !parts.every((p) => NAME_PART.test(p))) throw new MalformedXmp(`bad name "${raw}"`);
  return parts.length === 2 ? { prefix: parts[0], local: parts[1] } : { prefix: '', local: parts[0] };
}

const isNamespaceDecl = (a: Attr) => a.raw === 'xmlns' || a.raw.startsWith('xmlns:');

/** Fills in every element's and attribute's namespace URI from the xmlns declarations in scope. */
function resolve(nodes: XmlNode[], s: string, scope: ReadonlyMap<string, string>): void {
  for (const el of nodes) {
    if (el.kind !== 'element') continue;
    const inner = new Map(scope);
    for (const a of el.attrs) {
      if (!isNamespaceDecl(a)) continue;
      const value = s.slice(a.start, a.end).replace(/^[^=]*=\s*/, '').slice(1, -1);
      inner.set(a.raw === 'xmlns' ? '' : a.raw.slice(6), value);
    }
    const lookup = (prefix: string, raw: string) => {
      const uri = inner.get(prefix);
      if (uri === undefined) throw new MalformedXmp(`undeclared namespace prefix in "${raw}"`);
      return uri;
    };
    Object.assign(el, splitName(el.raw));
    el.uri = lookup(el.prefix, el.raw);
    for (const a of el.attrs) {
      Object.assign(a, splitName(a.raw));
      a.uri = isNamespaceDecl(a) || !a.prefix ? '' : lookup(a.prefix, a.raw);
    }
    resolve(el.children, s, inner);
  }
}

// ---- the policies -----------------------------------------------------------------------------

/** Namespace of a known prefix, matched by URI or, for writers that use a wrong URI, by the usual prefix. */
function inNamespace(n: Name, prefix: Prefix): boolean {
  return n.uri === NS[prefix] || n.prefix === prefix;
}

function isLocationOrSerial(n: Name): boolean {
  // Besides the named properties: GPS fields of any namespace (exif:GPS*, drone-dji:GpsLatitude)
  // and anything called a serial number.
  if (/^gps/i.test(n.local) || /latitude|longitude|serialnumber/i.test(n.local)) return true;
  return Object.entries(LOCATION_AND_SERIALS).some(([p, names]) => inNamespace(n, p as Prefix) && names.includes(n.local));
}

function isRightsProperty(n: Name): boolean {
  return Object.entries(COPYRIGHT_KEEP).some(([p, names]) => n.uri === NS[p as Prefix] && (names === '*' || names.includes(n.local)));
}

/** xmlns declarations and rdf:/xml: attributes (rdf:about, xml:lang): structure, not properties. */
const isStructural = (a: Attr) => isNamespaceDecl(a) || a.uri === NS.rdf || a.uri === NS.xml;
const isRdf = (el: Element, local: string) => el.uri === NS.rdf && el.local === local;
const containsRdf = (el: Element): boolean => isRdf(el, 'RDF') || el.children.some((c) => c.kind === 'element' && containsRdf(c));

class Cuts {
  readonly spans: [number, number][] = [];
  readonly gone = new Set<Attr | XmlNode>();

  constructor(private readonly s: string) {}

  cut(n: Attr | XmlNode): void {
    let start = n.start;
    // An element or comment takes the indentation before it along.
    if ('kind' in n && (n.kind === 'element' || n.kind === 'comment')) while (start > 0 && (this.s[start - 1] === ' ' || this.s[start - 1] === '\t' || this.s[start - 1] === '\n' || this.s[start - 1] === '\r')) start--;
    this.spans.push([start, n.end]);
    this.gone.add(n);
  }

  apply(): string {
    const spans = [...this.spans].sort((a, b) => a[0] - b[0]);
    let out = '';
    let at = 0;
    for (const [start, end] of spans) {
      if (start > at) out += this.s.slice(at, start);
      at = Math.max(at, end);
    }
    return out + this.s.slice(at);
  }
}

function cutLocation(nodes: XmlNode[], c: Cuts): void {
  for (const n of nodes) {
    if (n.kind === 'comment') c.cut(n); // free text nobody reads as metadata, but it could say anything
    if (n.kind !== 'element') continue;
    if (n.uri !== NS.rdf && isLocationOrSerial(n)) {
      c.cut(n);
      continue;
    }
    for (const a of n.attrs) if (!isStructural(a) && isLocationOrSerial(a)) c.cut(a);
    cutLocation(n.children, c);
  }
}

function cutAllButRights(nodes: XmlNode[], s: string, c: Cuts, inRdf: boolean, inNode: boolean): void {
  for (const n of nodes) {
    // Comments, and stray text between the structural elements (whitespace stays).
    if (n.kind === 'comment' || (n.kind === 'text' && !/^[\s\0]*$/.test(s.slice(n.start, n.end)))) {
      c.cut(n);
      continue;
    }
    if (n.kind !== 'element') continue;
    if (inNode) {
      // A property of a description: kept whole (its value may be a list or structure) or cut.
      if (!isRightsProperty(n)) c.cut(n);
    } else if (inRdf) {
      // A node under rdf:RDF: keep its rights properties only, as attributes or elements.
      for (const a of n.attrs) if (!isStructural(a) && !isRightsProperty(a)) c.cut(a);
      cutAllButRights(n.children, s, c, false, true);
    } else if (containsRdf(n)) {
      for (const a of n.attrs) if (!isNamespaceDecl(a)) c.cut(a);
      cutAllButRights(n.children, s, c, isRdf(n, 'RDF'), false);
    } else {
      c.cut(n);
    }
  }
}

/** Properties left: attributes and child elements of the nodes directly under rdf:RDF. */
function countProperties(nodes: XmlNode[], c: Cuts, inRdf = false): number {
  let k = 0;
  for (const n of nodes) {
    if (n.kind !== 'element' || c.gone.has(n)) continue;
    if (inRdf) {
      k += n.attrs.filter((a) => !isStructural(a) && !c.gone.has(a)).length;
      k += n.children.filter((ch) => ch.kind === 'element' && !c.gone.has(ch)).length;
    } else {
      k += countProperties(n.children, c, isRdf(n, 'RDF'));
    }
  }
  return k;
}

/**
 * An XMP packet filtered by a strict policy; undefined when no property is left. The packet is
 * returned unchanged when the policy removes nothing from it. Throws MalformedXmp.
 */
export function rewriteXmp(xmp: Uint8Array, policy: StrictPolicy): Uint8Array | undefined {
  let s: string;
  try {
    s = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(xmp);
  } catch {
    throw new MalformedXmp('not UTF-8');
  }
  const nodes = parse(s);
  resolve(nodes, s, new Map([['xml', NS.xml]]));
  const c = new Cuts(s);
  if (policy === 'copyright') cutAllButRights(nodes, s, c, false, false);
  else cutLocation(nodes, c);
  if (countProperties(nodes, c) === 0) return undefined;
  return c.spans.length ? new TextEncoder().encode(c.apply()) : xmp;
}
