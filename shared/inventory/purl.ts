/**
 * Package URLs: https://github.com/package-url/purl-spec (PURL-SPECIFICATION.rst, PURL-TYPES.rst).
 * `pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12`
 */
function encode(part: string): string {
  // The spec keeps these unencoded in names and versions.
  return encodeURIComponent(part).replace(/%3A/gi, ':');
}

export interface PurlParts {
  readonly type: string;
  readonly namespace?: string;
  readonly name: string;
  readonly version?: string;
  readonly qualifiers?: Readonly<Record<string, string | undefined>>;
}

export function purl(p: PurlParts): string {
  const ns = p.namespace === undefined ? '' : `${p.namespace.split('/').map(encode).join('/')}/`;
  const version = p.version === undefined ? '' : `@${encode(p.version)}`;
  const qualifiers = Object.entries(p.qualifiers ?? {})
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${encode(v)}`)
    .join('&');
  return `pkg:${p.type}/${ns}${encode(p.name)}${version}${qualifiers === '' ? '' : `?${qualifiers}`}`;
}

/** `distro` qualifier as Trivy and Syft write it: `debian-12`, `alpine-3.10.4`. */
export function distroQualifier(family: string, versionId: string | undefined): string | undefined {
  return versionId === undefined ? undefined : `${family}-${versionId}`;
}
