/**
 * SPDX 2.3 JSON output. SPDX's JSON schema for 2.3 is in no npm or Debian package found so
 * far, so the document is checked here against the requirements of the 2.3 specification,
 * clause by clause (https://spdx.github.io/spdx-spec/v2.3/), with enumerations spelled as that
 * schema spells them.
 */
import { describe, expect, it } from 'vitest';
import { toSpdx23 } from '../../../shared/sbom/spdx2.js';
import { alpine310 } from '../../support/fixtures.js';

interface Doc {
  spdxVersion: string;
  dataLicense: string;
  SPDXID: string;
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: Record<string, unknown>[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

const SPDX_ID = /^SPDXRef-[a-zA-Z0-9.-]+$/; // clause 7.2
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/; // clause 6.9

describe('SPDX 2.3', () => {
  it('describes the real alpine:3.10 image as the specification requires', async () => {
    const { image, inventory } = await alpine310();
    const doc = JSON.parse(
      toSpdx23(
        image,
        inventory,
        { name: 'bosun', version: '0.1.0' },
        new Date('2026-11-29T01:02:03.456Z'),
        'https://spdx.org/spdxdocs/bosun-test',
      ),
    ) as Doc;
    // Clause 6: document creation information.
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    expect(doc.dataLicense).toBe('CC0-1.0');
    expect(doc.SPDXID).toBe('SPDXRef-DOCUMENT');
    expect(doc.name).toBe(image.source);
    expect(doc.creationInfo.created).toMatch(DATE);
    expect(doc.creationInfo.created).toBe('2026-11-29T01:02:03Z');
    expect(doc.creationInfo.creators).toEqual(['Tool: bosun-0.1.0']);
    // Clause 7: every package has a unique SPDX id, a name, a download location, and
    // (filesAnalyzed false) no verification code.
    const ids = doc.packages.map((p) => p.SPDXID as string);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of doc.packages) {
      expect(p.SPDXID).toMatch(SPDX_ID);
      expect(typeof p.name).toBe('string');
      expect(p.downloadLocation).toBe('NOASSERTION');
      expect(p.filesAnalyzed).toBe(false);
      expect(p.packageVerificationCode).toBeUndefined();
      // The JSON schema's spelling of clause 7.24's purposes.
      expect(['CONTAINER', 'OPERATING_SYSTEM', 'LIBRARY']).toContain(p.primaryPackagePurpose);
    }
    // trivy's golden list for alpine 3.10: 14 apk packages, each with its PURL (annex F).
    const libraries = doc.packages.filter((p) => p.primaryPackagePurpose === 'LIBRARY');
    expect(libraries).toHaveLength(14);
    const musl = libraries.find((p) => p.name === 'musl') as Record<string, unknown>;
    expect(musl.externalRefs).toEqual([
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: inventory.packages.find((p) => p.name === 'musl')?.purl,
      },
    ]);
    expect(musl.versionInfo).toBe('1.1.22-r3');
    expect(musl.licenseComments).toBe('declared in the package metadata: MIT');
    // A docker-archive has no manifest digest; a pulled image is verified by it (clause 7.10).
    expect(doc.packages[0]?.checksums).toBeUndefined();
    const digest = `sha256:${'ab'.repeat(32)}`;
    const pulled = JSON.parse(
      toSpdx23({ ...image, manifestDigest: digest }, inventory, {
        name: 'bosun',
        version: '0.1.0',
      }),
    ) as Doc;
    expect(pulled.packages[0]).toMatchObject({
      versionInfo: digest,
      checksums: [{ algorithm: 'SHA256', checksumValue: 'ab'.repeat(32) }],
    });
    // Clause 6.5: a unique URI without a fragment.
    expect(pulled.documentNamespace).toMatch(
      /^https:\/\/spdx\.org\/spdxdocs\/bosun-[0-9a-f-]{36}$/,
    );
    // Clause 11: the document DESCRIBES the image, which CONTAINS the OS and every package;
    // every relationship names elements of the document.
    expect(doc.relationships[0]).toEqual({
      spdxElementId: 'SPDXRef-DOCUMENT',
      relationshipType: 'DESCRIBES',
      relatedSpdxElement: 'SPDXRef-Image',
    });
    const contains = doc.relationships.filter((r) => r.relationshipType === 'CONTAINS');
    expect(contains).toHaveLength(14 + 1);
    for (const r of doc.relationships) {
      expect([...ids, 'SPDXRef-DOCUMENT']).toContain(r.spdxElementId);
      expect(ids).toContain(r.relatedSpdxElement);
    }
  });
});
