/**
 * Parsing package URLs (https://github.com/package-url/purl-spec): what advisories name
 * packages by (Red Hat's CSAF VEX components) and what VEX documents name products by. In the
 * first layer, so importers and the VEX reader share it without one importing the other.
 */

/** A purl's parts, decoded; qualifier keys lower-cased. */
export interface Purl {
  readonly type: string;
  readonly namespace: string;
  readonly name: string;
  readonly version?: string;
  readonly qualifiers: ReadonlyMap<string, string>;
}

function decode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** `pkg:rpm/redhat/curl@7.76.1-26.el9_3.2?arch=src&epoch=1`; undefined when malformed. */
export function parsePurl(text: string): Purl | undefined {
  const m = /^pkg:([a-zA-Z][a-zA-Z0-9.+-]*)\/([^?#]+?)(?:\?([^#]*))?(?:#.*)?$/.exec(text.trim());
  if (m === null) return undefined;
  let path = m[2] as string;
  let version: string | undefined;
  const at = path.lastIndexOf('@');
  if (at > path.lastIndexOf('/')) {
    version = decode(path.slice(at + 1));
    path = path.slice(0, at);
    if (version === undefined) return undefined;
  }
  const segments = path.split('/').filter((s) => s !== '');
  const name = decode(segments.pop() ?? '');
  const namespace = segments.map(decode);
  if (name === undefined || name === '' || namespace.some((s) => s === undefined)) return undefined;
  const qualifiers = new Map<string, string>();
  for (const pair of (m[3] ?? '').split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const value = eq < 0 ? undefined : decode(pair.slice(eq + 1));
    if (eq <= 0 || value === undefined) return undefined;
    qualifiers.set(pair.slice(0, eq).toLowerCase(), value);
  }
  return {
    type: (m[1] as string).toLowerCase(),
    namespace: namespace.join('/'),
    name,
    ...(version === undefined || version === '' ? {} : { version }),
    qualifiers,
  };
}
