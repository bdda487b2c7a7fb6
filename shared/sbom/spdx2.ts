/**
 * SPDX 2.3 JSON (https://spdx.github.io/spdx-spec/v2.3/), the SPDX version most consumers read
 * (Trivy's and Syft's `spdx-json`): the document DESCRIBES the image (a package whose primary
 * purpose is CONTAINER, with its manifest digest as checksum), which CONTAINS the operating
 * system and every package, each with its PURL as a PACKAGE-MANAGER external reference
 * (clause 7.21 and annex F). Enumerations are spelled as SPDX's 2.3 JSON schema has them
 * (`OPERATING_SYSTEM`; the prose writes `OPERATING-SYSTEM`, which schema validators reject).
 * Licenses read from package metadata are not always SPDX license expressions, so they are
 * kept as a comment and the declared license is NOASSERTION.
 */
import { randomUUID } from 'node:crypto';
import type { Image } from '../image/types.js';
import type { Inventory } from '../inventory/inventory.js';
import { algorithmOf } from '../registry/digest.js';
import type { SbomTool } from './cyclonedx.js';
import { spdxDate } from './spdx.js';

type SpdxPackage = Record<string, unknown>;

const NOASSERTION = 'NOASSERTION';

export function toSpdx23(
  image: Image,
  inventory: Inventory,
  tool: SbomTool,
  now = new Date(),
  namespace = `https://spdx.org/spdxdocs/bosun-${randomUUID()}`,
): string {
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
  const packages: SpdxPackage[] = [
    {
      SPDXID: 'SPDXRef-Image',
      name: image.source,
      ...(digest === undefined
        ? {}
        : {
            versionInfo: digest,
            checksums: [
              {
                algorithm: algorithmOf(digest).toUpperCase(),
                checksumValue: digest.slice(digest.indexOf(':') + 1),
              },
            ],
          }),
      ...base,
      primaryPackagePurpose: 'CONTAINER',
    },
  ];
  const contained: string[] = [];
  if (inventory.os !== undefined) {
    contained.push('SPDXRef-OperatingSystem');
    packages.push({
      SPDXID: 'SPDXRef-OperatingSystem',
      name: inventory.os.family,
      ...(inventory.os.versionId === undefined ? {} : { versionInfo: inventory.os.versionId }),
      ...base,
      primaryPackagePurpose: 'OPERATING_SYSTEM',
    });
  }
  for (const [i, p] of inventory.packages.entries()) {
    const id = `SPDXRef-Package-${i + 1}`;
    contained.push(id);
    packages.push({
      SPDXID: id,
      name: p.name,
      versionInfo: p.version,
      ...base,
      ...(p.licenses === undefined || p.licenses.length === 0
        ? {}
        : { licenseComments: `declared in the package metadata: ${p.licenses.join('; ')}` }),
      ...(p.sourceName === undefined
        ? {}
        : { sourceInfo: `built from source package ${p.sourceName}` }),
      ...(p.location === undefined ? {} : { comment: `found in ${p.location}` }),
      externalRefs: [
        { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl },
      ],
      primaryPackagePurpose: 'LIBRARY',
    });
  }
  const relationships = [
    {
      spdxElementId: 'SPDXRef-DOCUMENT',
      relationshipType: 'DESCRIBES',
      relatedSpdxElement: 'SPDXRef-Image',
    },
    ...contained.map((id) => ({
      spdxElementId: 'SPDXRef-Image',
      relationshipType: 'CONTAINS',
      relatedSpdxElement: id,
    })),
  ];
  return JSON.stringify(
    {
      spdxVersion: 'SPDX-2.3',
      dataLicense: 'CC0-1.0',
      SPDXID: 'SPDXRef-DOCUMENT',
      name: image.source,
      documentNamespace: namespace,
      creationInfo: {
        created: spdxDate(now),
        creators: [`Tool: ${tool.name}-${tool.version}`],
      },
      packages,
      relationships,
    },
    null,
    2,
  );
}
