import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { describe, expect, it } from 'vitest';
import { toCycloneDx } from '../../../shared/sbom/cyclonedx.js';
import { alpine310 } from '../../support/fixtures.js';

describe('CycloneDX 1.6', () => {
  it('describes the real alpine:3.10 image in a document that passes the strict CycloneDX 1.6 JSON schema', async () => {
    const { image, inventory } = await alpine310();
    const json = toCycloneDx(
      image,
      inventory,
      { name: 'bosun', version: '0.1.0' },
      new Date('2026-11-28T00:00:00Z'),
    );
    // The library's strict validator uses the CycloneDX project's own schema files.
    const errors = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(json);
    expect(errors).toBeNull();
    // And the validator does reject what breaks the schema.
    const broken = JSON.parse(json) as { components: { type: string }[] };
    (broken.components[0] as { type: string }).type = 'not-a-component-type';
    expect(
      await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(
        JSON.stringify(broken),
      ),
    ).not.toBeNull();
    const bom = JSON.parse(json) as {
      specVersion: string;
      metadata: { component: { type: string; name: string } };
      components: {
        type: string;
        name: string;
        version: string;
        purl?: string;
        properties?: { name: string; value: string }[];
      }[];
    };
    expect(bom.specVersion).toBe('1.6');
    expect(bom.metadata.component.type).toBe('container');
    expect(
      bom.components
        .filter((c) => c.type === 'operating-system')
        .map((c) => `${c.name} ${c.version}`),
    ).toEqual(['alpine 3.10.4']);
    const libraries = bom.components.filter((c) => c.type === 'library');
    expect(libraries).toHaveLength(14);
    const musl = libraries.find((c) => c.name === 'musl');
    expect(musl?.purl).toBe('pkg:apk/alpine/musl@1.1.22-r3?arch=x86_64&distro=alpine-3.10.4');
    expect(musl?.properties).toEqual(
      expect.arrayContaining([
        { name: 'bosun:location', value: 'lib/apk/db/installed' },
        { name: 'bosun:layer', value: image.layers[0]?.diffId },
      ]),
    );
  });
});
