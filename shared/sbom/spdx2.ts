/**
 * SPDX 2.3 (https://spdx.github.io/spdx-spec/v2.3/), the SPDX version most consumers read
 * (Trivy's `spdx-json` and `spdx`): the document DESCRIBES the image (a package whose primary
 * purpose is CONTAINER, with its manifest digest as checksum), which CONTAINS the operating
 * system and every package, each with its PURL as a PACKAGE-MANAGER external reference
 * (clause 7.21 and annex F). Licenses read from package metadata are not always SPDX license
 * expressions, so they are kept as a comment and the declared license is NOASSERTION.
 *
 * One model, `spdx23Document`, is built here; the JSON writer below and the tag-value writer
 * (spdx2-tag-value.ts) only print it, so the two formats hold the same content. Its values are
 * made representable in every SPDX 2.3 format (clause 4.4: a valid document translates to each
 * format without loss), which tag-value is the strictest about:
 * - single-line fields (names, versions, clause 6.4 and 7.1: "single line of text") have each
 *   line break (CR LF, LF, CR, VT, FF, NEL, U+2028, U+2029) replaced by a space and are
 *   trimmed: tag-value readers trim them, and spdx's Python tools reject a `<text>` block in
 *   them; an empty version is left out;
 * - free-form text fields keep line breaks as LF (a CR before LF is dropped by line readers
 *   such as spdx tools-golang's) and are trimmed;
 * - `<text>` and `</text>` (any case) become `&lt;text>` and `&lt;/text>` in every value: a
 *   `<text>` block cannot hold its own end tag, and tools-golang starts a text block at a
 *   `<text>` anywhere in a line, which would swallow the lines after it;
 * - a PURL locator has whitespace, `<` and `>` percent-encoded, as the PURL spec writes them
 *   (tag-value splits ExternalRef on spaces).
 */
import { randomUUID } from 'node:crypto';
import type { Image } from '../image/types.js';
import type { Inventory } from '../inventory/inventory.js';
import { algorithmOf } from '../registry/digest.js';
import type { SbomTool } from './cyclonedx.js';
import { spdxDate } from './spdx.js';

/** Clause 7.24, spelled as the prose and tag-value spell it; JSON's schema uses `_`. */
export type Spdx23Purpose = 'CONTAINER' | 'OPERATING-SYSTEM' | 'LIBRARY';

export interface Spdx23Package {
  readonly id: string;
  readonly name: string;
  readonly version?: string;
  readonly checksums: readonly { readonly algorithm: string; readonly value: string }[];
  readonly downloadLocation: string;
  readonly filesAnalyzed: boolean;
  readonly licenseConcluded: string;
  readonly licenseDeclared: string;
  readonly licenseComments?: string;
  readonly copyrightText: string;
  readonly sourceInfo?: string;
  readonly comment?: string;
  readonly purl?: string;
  readonly purpose: Spdx23Purpose;
}

export interface Spdx23Relationship {
  readonly from: string;
  readonly type: 'DESCRIBES' | 'CONTAINS';
  readonly to: string;
}

export interface Spdx23Document {
  readonly name: string;
  readonly namespace: string;
  readonly created: string;
  readonly creators: readonly string[];
  /** Clause 6.11: set when the inventory is incomplete, saying what could not be read. */
  readonly creatorComment?: string;
  readonly packages: readonly Spdx23Package[];
  readonly relationships: readonly Spdx23Relationship[];
}

const NOASSERTION = 'NOASSERTION';

/** Clause 6.5: a unique URI without a fragment. */
export const spdx23Namespace = () => `https://spdx.org/spdxdocs/bosun-${randomUUID()}`;

const TEXT_TAG = /<(\/?text>)/gi;
const unTag = (s: string) => s.replace(TEXT_TAG, '&lt;$1');
/** A single-line field: every line break becomes a space. */
const line = (s: string) => unTag(s.replace(/\r\n|[\n\v\f\r\u0085\u2028\u2029]/g, ' ')).trim();
/** A free-form text field: line breaks kept as LF. */
const text = (s: string) => unTag(s.replace(/\r\n?/g, '\n')).trim();
const locator = (s: string) => s.replace(/[\s<>]/gu, (c) => encodeURIComponent(c));
const optional = (s: string | undefined) => (s === undefined || s === '' ? undefined : s);

export function spdx23Document(
  image: Image,
  inventory: Inventory,
  tool: SbomTool,
  now: Date,
  namespace: string,
): Spdx23Document {
  // Clause 7.1/7.2: every package says where it came from and what was concluded; Bosun
  // analyzes no files and concludes nothing.
  const base = {
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
  };
  const digest = image.manifestDigest;
  const packages: Spdx23Package[] = [
    {
      id: 'SPDXRef-Image',
      name: line(image.source),
      version: optional(digest === undefined ? undefined : line(digest)),
      checksums:
        digest === undefined
          ? []
          : [
              {
                algorithm: line(algorithmOf(digest).toUpperCase()),
                value: line(digest.slice(digest.indexOf(':') + 1)),
              },
            ],
      ...base,
      purpose: 'CONTAINER',
    },
  ];
  if (inventory.os !== undefined) {
    packages.push({
      id: 'SPDXRef-OperatingSystem',
      name: line(inventory.os.family),
      version: optional(
        inventory.os.versionId === undefined ? undefined : line(inventory.os.versionId),
      ),
      checksums: [],
      ...base,
      purpose: 'OPERATING-SYSTEM',
    });
  }
  for (const [i, p] of inventory.packages.entries()) {
    packages.push({
      id: `SPDXRef-Package-${i + 1}`,
      name: line(p.name),
      version: optional(line(p.version)),
      checksums: [],
      ...base,
      licenseComments:
        p.licenses === undefined || p.licenses.length === 0
          ? undefined
          : text(`declared in the package metadata: ${p.licenses.join('; ')}`),
      sourceInfo:
        p.sourceName === undefined ? undefined : text(`built from source package ${p.sourceName}`),
      comment: p.location === undefined ? undefined : text(`found in ${p.location}`),
      purl: locator(p.purl),
      purpose: 'LIBRARY',
    });
  }
  const contained = packages.slice(1).map((p) => p.id);
  return {
    name: line(image.source),
    namespace: line(namespace),
    created: spdxDate(now),
    creators: [`Tool: ${line(`${tool.name}-${tool.version}`)}`],
    // Never a silent gap: a package list from layers or files that could not be read whole.
    ...(inventory.complete
      ? {}
      : {
          creatorComment: text(
            [
              'INCOMPLETE: parts of the image could not be read, so packages may be missing:',
              ...inventory.issues.map((i) => i.message),
            ].join('\n'),
          ),
        }),
    packages,
    relationships: [
      { from: 'SPDXRef-DOCUMENT', type: 'DESCRIBES', to: 'SPDXRef-Image' },
      ...contained.map((id) => ({ from: 'SPDXRef-Image', type: 'CONTAINS' as const, to: id })),
    ],
  };
}

/** SPDX 2.3 JSON, with enumerations spelled as the 2.3 JSON schema has them (`OPERATING_SYSTEM`). */
export function toSpdx23(
  image: Image,
  inventory: Inventory,
  tool: SbomTool,
  now = new Date(),
  namespace = spdx23Namespace(),
): string {
  const doc = spdx23Document(image, inventory, tool, now, namespace);
  return JSON.stringify(
    {
      spdxVersion: 'SPDX-2.3',
      dataLicense: 'CC0-1.0',
      SPDXID: 'SPDXRef-DOCUMENT',
      name: doc.name,
      documentNamespace: doc.namespace,
      creationInfo: { created: doc.created, creators: doc.creators, comment: doc.creatorComment },
      packages: doc.packages.map((p) => ({
        SPDXID: p.id,
        name: p.name,
        versionInfo: p.version,
        checksums:
          p.checksums.length === 0
            ? undefined
            : p.checksums.map((c) => ({ algorithm: c.algorithm, checksumValue: c.value })),
        downloadLocation: p.downloadLocation,
        filesAnalyzed: p.filesAnalyzed,
        licenseConcluded: p.licenseConcluded,
        licenseDeclared: p.licenseDeclared,
        copyrightText: p.copyrightText,
        licenseComments: p.licenseComments,
        sourceInfo: p.sourceInfo,
        comment: p.comment,
        externalRefs:
          p.purl === undefined
            ? undefined
            : [
                {
                  referenceCategory: 'PACKAGE-MANAGER',
                  referenceType: 'purl',
                  referenceLocator: p.purl,
                },
              ],
        primaryPackagePurpose: p.purpose.replace('-', '_'),
      })),
      relationships: doc.relationships.map((r) => ({
        spdxElementId: r.from,
        relationshipType: r.type,
        relatedSpdxElement: r.to,
      })),
    },
    null,
    2,
  );
}
