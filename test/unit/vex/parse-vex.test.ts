import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVex } from '../../../shared/vex/parse.js';
import { InvalidVexError } from '../../../shared/vex/types.js';

const fixture = (name: string): string =>
  readFileSync(path.join(__dirname, '../../fixtures/vex', name), 'utf8');

describe('parseVex, OpenVEX 0.2', () => {
  it('reads the specification example: not_affected with justification, aliases and product hash', () => {
    const doc = parseVex(fixture('openvex/spring-boot-log4shell.json'));
    expect(doc.format).toBe('openvex');
    expect(doc.author).toBe('Spring Builds <spring-builds@users.noreply.github.com>');
    expect(doc.statements).toHaveLength(1);
    const [s] = doc.statements;
    expect(s?.vulnerability).toBe('CVE-2021-44228');
    expect(s?.aliases).toEqual(['GHSA-jfh8-c2jp-5v3q']);
    expect(s?.status).toBe('not_affected');
    expect(s?.justification).toBe('vulnerable_code_not_in_execute_path');
    expect(s?.products[0]?.ids).toContain(
      'pkg:maven/org.springframework.boot/spring-boot@2.6.0-M3',
    );
    expect(s?.products[0]?.sha256).toEqual([
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    ]);
    // Inherited from the document: the statement has no timestamp of its own.
    expect(s?.timestamp).toBe('2023-01-16T19:07:16.853479631-06:00');
  });

  it('keeps a statement its own timestamp and gives the others the document one', () => {
    const doc = parseVex(fixture('openvex/git-statement-history.json'));
    expect(doc.statements.map((s) => [s.status, s.timestamp])).toEqual([
      ['under_investigation', '2023-01-08T18:02:03-06:00'],
      ['fixed', '2023-01-09T09:08:42-06:00'],
    ]);
  });

  it('refuses a not_affected statement with neither justification nor impact statement', () => {
    expect(() => parseVex(fixture('openvex/not-affected-without-reason.json'))).toThrow(
      /statements\.0: not_affected needs a justification or an impact_statement/,
    );
  });

  it('refuses unknown statuses and justifications, naming the field', () => {
    const doc = JSON.parse(fixture('openvex/git-statement-history.json'));
    doc.statements[0].status = 'ignored';
    expect(() => parseVex(JSON.stringify(doc))).toThrow(/statements\.0\.status/);
    doc.statements[0].status = 'not_affected';
    doc.statements[0].justification = 'trust_me';
    expect(() => parseVex(JSON.stringify(doc))).toThrow(/statements\.0\.justification/);
  });

  it('refuses a statement with no product, since nothing cascades into it here', () => {
    const doc = JSON.parse(fixture('openvex/git-statement-history.json'));
    delete doc.statements[1].products;
    expect(() => parseVex(JSON.stringify(doc))).toThrow(/statements\.1: .*identify its products/);
  });
});

describe('parseVex, CycloneDX VEX', () => {
  it('resolves a BOM-Link into another BOM to the purl its bom-ref ends with', () => {
    const doc = parseVex(fixture('cyclonedx/jackson-databind-bom-link.json'));
    expect(doc.format).toBe('cyclonedx');
    expect(doc.issues).toEqual([]);
    const [s] = doc.statements;
    expect(s).toMatchObject({
      vulnerability: 'CVE-2020-25649',
      aliases: ['GHSA-288c-cq4h-88gq'],
      status: 'not_affected',
      justification: 'code_not_reachable',
      action: 'will_not_fix, update',
      timestamp: '2022-01-02T00:00:00.000Z',
      document: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    });
    expect(s?.products).toEqual([
      {
        ids: ['pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0'],
        sha256: [],
        subcomponents: [],
      },
    ]);
  });

  it('maps states, narrows to listed versions, and says what it left out', () => {
    const doc = parseVex(fixture('cyclonedx/components-and-versions.json'));
    // resolved -> fixed, for the listed version; the analysis-less vulnerability is no statement.
    expect(doc.statements).toHaveLength(1);
    expect(doc.statements[0]).toMatchObject({
      vulnerability: 'CVE-2021-23337',
      status: 'fixed',
      timestamp: '2024-05-01T10:00:00Z',
      products: [{ ids: ['pkg:npm/lodash@4.17.20'] }],
    });
    expect(doc.issues.join('\n')).toMatch(/minimist: version ranges are not evaluated/);
    expect(doc.issues.join('\n')).toMatch(/CVE-2021-44906: the statement names no product/);
  });

  it('refuses a BOM whose only statements name nothing it can apply', () => {
    const doc = JSON.parse(fixture('cyclonedx/jackson-databind-bom-link.json'));
    doc.vulnerabilities[0].affects[0].ref = 'urn:cdx:bdd819e6/1#nothing-here';
    expect(() => parseVex(JSON.stringify(doc))).toThrow(InvalidVexError);
  });
});

describe('parseVex, other input', () => {
  it.each([
    ['not JSON', '{', /not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['an SPDX document', '{"spdxVersion":"SPDX-2.3"}', /neither an OpenVEX document/],
    ['an OpenVEX 0.0.1 document', '{"@context":"https://openvex.dev/ns/v0.0.1"}', /@context/],
  ])('refuses %s with a typed error', (_name, text, message) => {
    expect(() => parseVex(text)).toThrow(InvalidVexError);
    expect(() => parseVex(text)).toThrow(message);
  });
});
