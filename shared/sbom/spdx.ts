/**
 * SPDX 3.0.1 JSON-LD (https://spdx.github.io/spdx-spec/v3.0.1/) of an image's inventory: one
 * SpdxDocument whose root element is the image (a `software_Package` whose primary purpose is
 * `container`, verified by its manifest digest), the operating system and every package as
 * `software_Package` elements with their PURLs, and `contains` relationships from the image to
 * each. The document conforms to the `core` and `software` profiles; the tests validate it
 * against SPDX's JSON schema for 3.0.1.
 */
import { randomUUID } from 'node:crypto';
import type { Image } from '../image/types.js';
import type { Inventory } from '../inventory/inventory.js';
import { algorithmOf } from '../registry/digest.js';
import type { SbomTool } from './cyclonedx.js';

const SPDX_CONTEXT = 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld';

type Node = Record<string, unknown>;

/** SPDX DateTime, in 2.3 and 3.0 alike: UTC, whole seconds (https://spdx.github.io/spdx-spec/v3.0.1/model/Core/Datatypes/DateTime/). */
export const spdxDate = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

export function toSpdx(
  image: Image,
  inventory: Inventory,
  tool: SbomTool,
  now = new Date(),
  namespace = `urn:uuid:${randomUUID()}`,
): string {
  const id = (local: string) => `${namespace}#${local}`;
  const creationInfo = '_:creationinfo';
  const agent = id('agent-bosun');
  const graph: Node[] = [
    {
      type: 'CreationInfo',
      '@id': creationInfo,
      specVersion: '3.0.1',
      created: spdxDate(now),
      createdBy: [agent],
      createdUsing: [id('tool-bosun')],
    },
    { type: 'SoftwareAgent', spdxId: agent, name: tool.name, creationInfo },
    {
      type: 'Tool',
      spdxId: id('tool-bosun'),
      name: `${tool.name} ${tool.version}`,
      creationInfo,
    },
  ];
  const root = id('image');
  const digest = image.manifestDigest;
  graph.push({
    type: 'software_Package',
    spdxId: root,
    creationInfo,
    name: image.source,
    software_primaryPurpose: 'container',
    ...(digest === undefined
      ? {}
      : {
          software_packageVersion: digest,
          verifiedUsing: [
            {
              type: 'Hash',
              algorithm: algorithmOf(digest),
              hashValue: digest.slice(digest.indexOf(':') + 1),
            },
          ],
        }),
  });
  const contained: string[] = [];
  if (inventory.os !== undefined) {
    const os = id('os');
    contained.push(os);
    graph.push({
      type: 'software_Package',
      spdxId: os,
      creationInfo,
      name: inventory.os.family,
      ...(inventory.os.versionId === undefined
        ? {}
        : { software_packageVersion: inventory.os.versionId }),
      software_primaryPurpose: 'operatingSystem',
    });
  }
  for (const [i, p] of inventory.packages.entries()) {
    const pkg = id(`package-${i + 1}`);
    contained.push(pkg);
    graph.push({
      type: 'software_Package',
      spdxId: pkg,
      creationInfo,
      name: p.name,
      software_packageVersion: p.version,
      software_packageUrl: p.purl,
      software_primaryPurpose: 'library',
      ...(p.location === undefined ? {} : { comment: `found in ${p.location}` }),
      ...(p.sourceName === undefined
        ? {}
        : { software_sourceInfo: `built from source package ${p.sourceName}` }),
    });
  }
  if (contained.length > 0)
    graph.push({
      type: 'Relationship',
      spdxId: id('relationship-contains'),
      creationInfo,
      from: root,
      relationshipType: 'contains',
      to: contained,
      // Packages the extractors do not read yet (docs/extractors.md) may be missing.
      completeness: 'incomplete',
    });
  graph.push({
    type: 'SpdxDocument',
    spdxId: id('document'),
    creationInfo,
    name: `${image.source} (SBOM by ${tool.name})`,
    profileConformance: ['core', 'software'],
    rootElement: [root],
    element: graph.flatMap((n) => (typeof n.spdxId === 'string' ? [n.spdxId] : [])),
  });
  return JSON.stringify({ '@context': SPDX_CONTEXT, '@graph': graph }, null, 2);
}
