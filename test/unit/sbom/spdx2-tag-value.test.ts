/**
 * SPDX 2.3 tag-value output. No SPDX tag-value validator is in npm or Debian, so the document is
 * read back by a strict reader written here from the 2.3 specification
 * (https://spdx.github.io/spdx-spec/v2.3/): one `Tag: value` a line, blank lines and `#`
 * comment lines ignored outside text, free-form text (and only that) in `<text>...</text>`,
 * clause 6 creation information first, a package from its PackageName on (clause 7), clause 11
 * relationships as `A TYPE B`. What it reads must equal, field for field, the SPDX 2.3 JSON that
 * spdx2.ts writes for the same inputs. (spdx's own Python tools, run by hand on these documents,
 * parsed and validated them with no message and read the same model from both formats.)
 */
import { describe, expect, it } from 'vitest';
import type { InventoryPackage } from '../../../shared/inventory/inventory.js';
import { spdx23Document, toSpdx23 } from '../../../shared/sbom/spdx2.js';
import {
  printSpdx23TagValue,
  SpdxTagValueError,
  toSpdx23TagValue,
} from '../../../shared/sbom/spdx2-tag-value.js';
import { alpine310 } from '../../support/fixtures.js';

type Json = Record<string, unknown>;

const TOOL = { name: 'bosun', version: '0.1.0' };
const NOW = new Date('2026-11-29T01:02:03.456Z');
const NS = 'https://spdx.org/spdxdocs/bosun-test';

const TEXT_DELIMITER = /<\/?text>/i;
/** Fields whose data format is "free form text that can span multiple lines". */
const TEXT_FIELDS = new Set([
  'PackageSourceInfo',
  'PackageLicenseComments',
  'PackageCopyrightText',
  'PackageComment',
]);
/** Clause 7.24 as the prose (and tag-value) spell it. */
const PURPOSES = new Set(
  'APPLICATION FRAMEWORK LIBRARY CONTAINER OPERATING-SYSTEM DEVICE FIRMWARE SOURCE ARCHIVE FILE INSTALL OTHER'.split(
    ' ',
  ),
);
/** Clause 6 fields: their JSON names and value formats. */
const DOCUMENT_FIELDS: Record<string, [string, RegExp]> = {
  SPDXVersion: ['spdxVersion', /^(SPDX-2\.3)$/],
  DataLicense: ['dataLicense', /^(CC0-1\.0)$/],
  SPDXID: ['SPDXID', /^(SPDXRef-DOCUMENT)$/],
  DocumentName: ['name', /^(.*)$/],
  DocumentNamespace: ['documentNamespace', /^([a-z][a-z0-9+.-]*:[^#\s]+)$/], // a URI, no fragment
  Creator: ['creators', /^((?:Tool|Organization|Person): \S.*)$/],
  Created: ['created', /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)$/], // clause 6.9
};
/** Single-valued package fields and their JSON names. */
const PACKAGE_FIELDS: Record<string, string> = {
  SPDXID: 'SPDXID',
  PackageVersion: 'versionInfo',
  PackageDownloadLocation: 'downloadLocation',
  PrimaryPackagePurpose: 'primaryPackagePurpose',
  FilesAnalyzed: 'filesAnalyzed',
  PackageSourceInfo: 'sourceInfo',
  PackageLicenseConcluded: 'licenseConcluded',
  PackageLicenseDeclared: 'licenseDeclared',
  PackageLicenseComments: 'licenseComments',
  PackageCopyrightText: 'copyrightText',
  PackageComment: 'comment',
};

/** The tag-value pairs of a document, strictly: anything a reader could take two ways fails. */
function tagValues(input: string): [string, string][] {
  if (!input.endsWith('\n') || input.includes('\r')) throw new Error('not LF-terminated lines');
  const lines = input.slice(0, -1).split('\n');
  const pairs: [string, string][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z]+): (.*)$/s.exec(line);
    if (m === null) throw new Error(`line ${i + 1} is not "Tag: value": ${line}`);
    const [, tag = '', raw = ''] = m;
    if (!raw.startsWith('<text>')) {
      if (TEXT_DELIMITER.test(raw)) throw new Error(`line ${i + 1}: a stray text delimiter`);
      // Readers trim plain values: a writer that leaves spaces there loses them.
      if (raw !== raw.trim()) throw new Error(`line ${i + 1}: untrimmed value`);
      pairs.push([tag, raw]);
      continue;
    }
    if (!TEXT_FIELDS.has(tag)) throw new Error(`line ${i + 1}: <text> for single-line ${tag}`);
    let body = raw.slice('<text>'.length);
    // The end tag ends its line; lines in between are text, `#` at their start included.
    while (!body.endsWith('</text>')) {
      i++;
      if (i >= lines.length) throw new Error(`${tag}: <text> never ends`);
      body += `\n${lines[i]}`;
    }
    body = body.slice(0, -'</text>'.length);
    if (TEXT_DELIMITER.test(body)) throw new Error(`${tag}: a text delimiter inside <text>`);
    pairs.push([tag, body]);
  }
  return pairs;
}

/** Reads a tag-value document into the shape of SPDX 2.3 JSON. */
function readTagValue(input: string): Json {
  const doc: Json = {};
  const creators: string[] = [];
  const packages: Json[] = [];
  const relationships: Json[] = [];
  let pkg: Json | undefined;
  const once = (o: Json, key: string, value: unknown) => {
    if (key in o) throw new Error(`${key} twice`);
    o[key] = value;
  };
  const inPackage = (tag: string): Json => {
    if (pkg === undefined) throw new Error(`${tag} outside a package`);
    return pkg;
  };
  for (const [tag, value] of tagValues(input)) {
    const match = (re: RegExp) => {
      const m = re.exec(value);
      if (m === null) throw new Error(`${tag}: ${JSON.stringify(value)} does not match ${re}`);
      return m.slice(1) as string[];
    };
    if (packages.length === 0 && relationships.length === 0 && tag in DOCUMENT_FIELDS) {
      // Clause 6: document creation information, before any package.
      const [key, format] = DOCUMENT_FIELDS[tag] as [string, RegExp];
      if (tag === 'Creator') creators.push(match(format)[0] as string);
      else once(doc, key, match(format)[0]);
      continue;
    }
    if (tag === 'PackageName') {
      pkg = { name: value };
      packages.push(pkg);
    } else if (tag === 'Relationship') {
      const [a, type, b] = match(/^(SPDXRef-\S+) ([A-Z_]+) (SPDXRef-\S+)$/);
      relationships.push({ spdxElementId: a, relationshipType: type, relatedSpdxElement: b });
    } else if (tag === 'PackageChecksum') {
      const [algorithm, checksumValue] = match(
        /^(SHA1|SHA224|SHA256|SHA384|SHA512|MD5): ([0-9a-f]+)$/,
      );
      const p = inPackage(tag);
      p.checksums = [...((p.checksums as Json[] | undefined) ?? []), { algorithm, checksumValue }];
    } else if (tag === 'ExternalRef') {
      const [referenceCategory, referenceType, referenceLocator] = match(
        /^(SECURITY|PACKAGE-MANAGER|PERSISTENT-ID|OTHER) (\S+) (\S+)$/,
      );
      const p = inPackage(tag);
      p.externalRefs = [
        ...((p.externalRefs as Json[] | undefined) ?? []),
        { referenceCategory, referenceType, referenceLocator },
      ];
    } else if (tag === 'SPDXID') {
      once(inPackage(tag), 'SPDXID', match(/^(SPDXRef-[a-zA-Z0-9.-]+)$/)[0]); // clause 7.2
    } else if (tag === 'FilesAnalyzed') {
      once(inPackage(tag), 'filesAnalyzed', match(/^(true|false)$/)[0] === 'true');
    } else if (tag === 'PrimaryPackagePurpose') {
      if (!PURPOSES.has(value)) throw new Error(`no purpose ${value}`);
      // The JSON schema spells it with `_`.
      once(inPackage(tag), 'primaryPackagePurpose', value.replace('-', '_'));
    } else if (tag in PACKAGE_FIELDS) {
      once(inPackage(tag), PACKAGE_FIELDS[tag] as string, value);
    } else {
      throw new Error(`unknown or misplaced tag ${tag}`);
    }
  }
  for (const p of packages) {
    for (const key of ['SPDXID', 'name', 'downloadLocation']) {
      if (!(key in p)) throw new Error(`package ${String(p.name)} has no ${key}`);
    }
  }
  for (const key of [
    'spdxVersion',
    'dataLicense',
    'SPDXID',
    'name',
    'documentNamespace',
    'created',
  ]) {
    if (!(key in doc)) throw new Error(`the document has no ${key}`);
  }
  const { created, ...rest } = doc;
  return { ...rest, creationInfo: { created, creators }, packages, relationships };
}

describe('SPDX 2.3 tag-value', () => {
  it('reads back as exactly the JSON document of the real alpine:3.10 image', async () => {
    const { image, inventory } = await alpine310();
    for (const img of [image, { ...image, manifestDigest: `sha256:${'ab'.repeat(32)}` }]) {
      const tv = toSpdx23TagValue(img, inventory, TOOL, NOW, NS);
      const json = JSON.parse(toSpdx23(img, inventory, TOOL, NOW, NS)) as Json;
      expect(readTagValue(tv)).toStrictEqual(json);
    }

    const tv = toSpdx23TagValue(image, inventory, TOOL, NOW, NS);
    // Clause 6, in tools-golang's (and so Trivy's) order.
    expect(tv.split('\n').slice(0, 8)).toEqual([
      'SPDXVersion: SPDX-2.3',
      'DataLicense: CC0-1.0',
      'SPDXID: SPDXRef-DOCUMENT',
      `DocumentName: ${image.source}`,
      `DocumentNamespace: ${NS}`,
      'Creator: Tool: bosun-0.1.0',
      'Created: 2026-11-29T01:02:03Z',
      '',
    ]);
    // A package as Trivy's tag-value writes one: PackageName first, the prose's purposes.
    const musl = inventory.packages.findIndex((p) => p.name === 'musl');
    expect(tv).toContain(
      [
        '##### Package: musl',
        '',
        'PackageName: musl',
        `SPDXID: SPDXRef-Package-${musl + 1}`,
        'PackageVersion: 1.1.22-r3',
        'PackageDownloadLocation: NOASSERTION',
        'PrimaryPackagePurpose: LIBRARY',
        'FilesAnalyzed: false',
        'PackageSourceInfo: built from source package musl',
        'PackageLicenseConcluded: NOASSERTION',
        'PackageLicenseDeclared: NOASSERTION',
        'PackageLicenseComments: declared in the package metadata: MIT',
        'PackageCopyrightText: NOASSERTION',
        'PackageComment: found in lib/apk/db/installed',
        `ExternalRef: PACKAGE-MANAGER purl ${inventory.packages[musl]?.purl}`,
        '',
      ].join('\n'),
    );
    expect(tv).toContain('PrimaryPackagePurpose: OPERATING-SYSTEM\n');
    expect(tv).toContain('PrimaryPackagePurpose: CONTAINER\n');
    expect(tv).not.toContain('OPERATING_SYSTEM');
    // Clause 11.
    expect(tv).toContain('Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-Image\n');
    expect(tv).toContain('Relationship: SPDXRef-Image CONTAINS SPDXRef-OperatingSystem\n');
    expect(tv.match(/^Relationship: SPDXRef-Image CONTAINS /gm)).toHaveLength(14 + 1);
  });

  it('is deterministic for a fixed time and namespace, and unique by default', async () => {
    const { image, inventory } = await alpine310();
    const a = toSpdx23TagValue(image, inventory, TOOL, NOW, NS);
    expect(toSpdx23TagValue(image, inventory, TOOL, NOW, NS)).toBe(a);
    const namespaces = [1, 2].map((n) => {
      const tv = toSpdx23TagValue({ ...image, source: `image-${n}` }, inventory, TOOL);
      return /^DocumentNamespace: (.*)$/m.exec(tv)?.[1];
    });
    for (const ns of namespaces) {
      expect(ns).toMatch(/^https:\/\/spdx\.org\/spdxdocs\/bosun-[0-9a-f-]{36}$/);
    }
    expect(namespaces[0]).not.toBe(namespaces[1]);
  });

  it('carries line breaks, text delimiters and odd characters as the JSON does', async () => {
    const { image, inventory } = await alpine310();
    const odd: InventoryPackage = {
      type: 'npm',
      name: ' evil\npkg\u2028x ',
      version: '1.0\r\n',
      licenses: ['MIT', 'line one\r\n# line two, not a comment', '<TEXT>x</Text>'],
      sourceName: 'spaced\tsource ünïcødé\u2028☃ ',
      // A tar path may hold newlines; this one also tries to end the text and start a package.
      location: 'usr/lib/node_modules/a\nb</text>\nPackageName: injected\n/package.json',
      purl: 'pkg:npm/evil%0Apkg@1.0 <x>',
    };
    const oddImage = { ...image, source: 'docker-archive:/tmp/odd\r\nname.tar' };
    const oddInventory = { ...inventory, packages: [...inventory.packages, odd] };
    const tv = toSpdx23TagValue(oddImage, oddInventory, TOOL, NOW, NS);
    const json = JSON.parse(toSpdx23(oddImage, oddInventory, TOOL, NOW, NS)) as {
      name: string;
      packages: Json[];
    };
    const back = readTagValue(tv) as typeof json;
    expect(back).toStrictEqual(json);
    // Nothing was injected: the image, the OS, alpine's 14 packages and the odd one.
    expect(back.packages).toHaveLength(1 + 1 + 14 + 1);
    expect(json.name).toBe('docker-archive:/tmp/odd name.tar');
    expect(json.packages.at(-1)).toMatchObject({
      name: 'evil pkg x',
      versionInfo: '1.0',
      licenseComments:
        'declared in the package metadata: MIT; line one\n# line two, not a comment; &lt;TEXT>x&lt;/Text>',
      sourceInfo: 'built from source package spaced\tsource ünïcødé\u2028☃',
      comment: 'found in usr/lib/node_modules/a\nb&lt;/text>\nPackageName: injected\n/package.json',
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: 'pkg:npm/evil%0Apkg@1.0%20%3Cx%3E',
        },
      ],
    });
    expect(tv).toContain(
      'PackageComment: <text>found in usr/lib/node_modules/a\nb&lt;/text>\nPackageName: injected\n/package.json</text>\n',
    );
    expect(tv).toContain('PackageName: evil pkg x\n');
  });

  it('refuses a model value that tag-value cannot carry', async () => {
    const { image, inventory } = await alpine310();
    const doc = spdx23Document(image, inventory, TOOL, NOW, NS);
    expect(() => printSpdx23TagValue({ ...doc, name: 'a\nb' })).toThrow(SpdxTagValueError);
    const [first, ...others] = doc.packages;
    expect(() =>
      printSpdx23TagValue({
        ...doc,
        packages: [{ ...(first as (typeof doc.packages)[0]), comment: 'a</text>b' }, ...others],
      }),
    ).toThrow(/PackageComment cannot hold "a<\/text>b"/);
  });
});
