/**
 * SPDX 2.3 tag-value (what Trivy's `--format spdx` writes): the document model of spdx2.ts, the
 * same content as our SPDX 2.3 JSON, printed one `Tag: value` per line. Field order and the
 * `#####` section comments follow spdx tools-golang's writer, which Trivy uses: document
 * creation information (clause 6), then each package starting with `PackageName` (clause 7),
 * then the relationships (clause 11). Enumerations are spelled as the prose spells them
 * (`PrimaryPackagePurpose: OPERATING-SYSTEM`). A free-form text value that spans lines is
 * wrapped in `<text>...</text>`; the model guarantees no value holds `<text>` or `</text>`
 * and no single-line value holds a line break, and this writer refuses a model that breaks that.
 */
import type { Image } from '../image/types.js';
import type { Inventory } from '../inventory/inventory.js';
import type { SbomTool } from './cyclonedx.js';
import { type Spdx23Document, spdx23Document, spdx23Namespace } from './spdx2.js';

const TEXT_TAG = /<\/?text>/i;

/** A model value that tag-value cannot carry: a bug in spdx2.ts, never an input's fault. */
export class SpdxTagValueError extends Error {
  constructor(
    readonly tag: string,
    readonly value: string,
  ) {
    super(`SPDX tag-value ${tag} cannot hold ${JSON.stringify(value)}`);
    this.name = 'SpdxTagValueError';
  }
}

function single(tag: string, value: string): string {
  if (/[\r\n]/.test(value) || TEXT_TAG.test(value)) {
    throw new SpdxTagValueError(tag, value);
  }
  return `${tag}: ${value}`;
}

/** Free-form text (e.g. clause 7.20): `<text>` only where the value spans lines, as tools-golang does. */
function text(tag: string, value: string): string {
  if (value.includes('\r') || TEXT_TAG.test(value)) {
    throw new SpdxTagValueError(tag, value);
  }
  return value.includes('\n') ? `${tag}: <text>${value}</text>` : `${tag}: ${value}`;
}

export function printSpdx23TagValue(doc: Spdx23Document): string {
  const out = [
    'SPDXVersion: SPDX-2.3',
    'DataLicense: CC0-1.0',
    'SPDXID: SPDXRef-DOCUMENT',
    single('DocumentName', doc.name),
    single('DocumentNamespace', doc.namespace),
    ...doc.creators.map((c) => single('Creator', c)),
    single('Created', doc.created),
    ...(doc.creatorComment === undefined ? [] : [text('CreatorComment', doc.creatorComment)]),
    '',
  ];
  for (const p of doc.packages) {
    const name = single('PackageName', p.name); // checked before the comment repeats it
    out.push(`##### Package: ${p.name}`, '', name, single('SPDXID', p.id));
    if (p.version !== undefined) out.push(single('PackageVersion', p.version));
    out.push(
      single('PackageDownloadLocation', p.downloadLocation),
      single('PrimaryPackagePurpose', p.purpose),
      `FilesAnalyzed: ${p.filesAnalyzed}`,
      ...p.checksums.map((c) => single('PackageChecksum', `${c.algorithm}: ${c.value}`)),
    );
    if (p.sourceInfo !== undefined) out.push(text('PackageSourceInfo', p.sourceInfo));
    out.push(
      single('PackageLicenseConcluded', p.licenseConcluded),
      single('PackageLicenseDeclared', p.licenseDeclared),
    );
    if (p.licenseComments !== undefined) {
      out.push(text('PackageLicenseComments', p.licenseComments));
    }
    out.push(text('PackageCopyrightText', p.copyrightText));
    if (p.comment !== undefined) out.push(text('PackageComment', p.comment));
    // Clause 7.21: `category type locator`, space separated (the model encodes spaces away).
    if (p.purl !== undefined) out.push(single('ExternalRef', `PACKAGE-MANAGER purl ${p.purl}`));
    out.push('');
  }
  out.push('##### Relationships', '');
  for (const r of doc.relationships)
    out.push(single('Relationship', `${r.from} ${r.type} ${r.to}`));
  return `${out.join('\n')}\n`;
}

/** SPDX 2.3 tag-value of an image's inventory; the same arguments, and content, as `toSpdx23`. */
export function toSpdx23TagValue(
  image: Image,
  inventory: Inventory,
  tool: SbomTool,
  now = new Date(),
  namespace = spdx23Namespace(),
): string {
  return printSpdx23TagValue(spdx23Document(image, inventory, tool, now, namespace));
}
