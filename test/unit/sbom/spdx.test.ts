/**
 * SPDX 3.0.1 output, validated against SPDX's JSON schema for 3.0.1 (the copy that
 * `npm run setup` takes out of the cdxgen npm package into .local/tools/spdx).
 */
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { toSpdx } from '../../../shared/sbom/spdx.js';
import { alpine310, setupFile } from '../../support/fixtures.js';

function validator() {
  const ajv = new Ajv2020.default({ allErrors: true, strict: false });
  addFormats.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(setupFile('spdx/spdx-3.0.1.schema.json'), 'utf8')));
}

describe('SPDX 3.0.1', () => {
  it("describes the real alpine:3.10 image in a document that SPDX's JSON schema accepts", async () => {
    const { image, inventory } = await alpine310();
    const json = toSpdx(
      image,
      inventory,
      { name: 'bosun', version: '0.1.0' },
      new Date('2026-11-29T01:02:03.456Z'),
      'urn:uuid:8a7b6c5d-0000-4000-8000-000000000001',
    );
    const validate = validator();
    expect(validate(JSON.parse(json)), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);

    const doc = JSON.parse(json) as { '@graph': Record<string, unknown>[] };
    const graph = doc['@graph'];
    const packages = graph.filter(
      (n) => n.type === 'software_Package' && n.software_primaryPurpose === 'library',
    );
    // trivy's golden list for alpine 3.10: 14 apk packages.
    expect(packages).toHaveLength(14);
    expect(packages.map((p) => p.software_packageUrl)).toContain(
      inventory.packages.find((p) => p.name === 'musl')?.purl,
    );
    expect(graph.find((n) => n.created !== undefined)?.created).toBe('2026-11-29T01:02:03Z');
    const contains = graph.find((n) => n.relationshipType === 'contains') as { to: string[] };
    expect(contains.to).toHaveLength(14 + 1); // the packages and the operating system
    const document = graph.find((n) => n.type === 'SpdxDocument') as {
      rootElement: string[];
      element: string[];
    };
    expect(document.rootElement).toEqual(['urn:uuid:8a7b6c5d-0000-4000-8000-000000000001#image']);
    expect(document.element).toContain(contains.to[0]);

    // The schema does reject what breaks it.
    const broken = JSON.parse(json) as { '@graph': Record<string, unknown>[] };
    (
      broken['@graph'].find((n) => n.type === 'Relationship') as Record<string, unknown>
    ).relationshipType = 'holds';
    expect(validate(broken)).toBe(false);
  });
});
