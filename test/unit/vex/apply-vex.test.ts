import { describe, expect, it } from 'vitest';
import {
  purlCovers,
  vexReason,
  vexStatementFor,
  vexSuppresses,
} from '../../../shared/vex/apply.js';
import type { VexStatement } from '../../../shared/vex/types.js';

const digest = `sha256:${'ab'.repeat(32)}`;
const subject = { digest, repositories: ['team-a/app'] };
const openssl = {
  vulnerabilityId: 'CVE-2024-5535',
  ids: ['CVE-2024-5535', 'DSA-5728-1'],
  purl: 'pkg:deb/debian/openssl@3.0.13-1~deb12u1?arch=amd64&distro=debian-12',
};

function statement(over: Partial<VexStatement>): VexStatement {
  return {
    vulnerability: 'CVE-2024-5535',
    aliases: [],
    products: [],
    status: 'not_affected',
    justification: 'vulnerable_code_not_in_execute_path',
    timestamp: '2024-07-01T00:00:00Z',
    ...over,
  };
}
const image = (ids: string[], subcomponents: string[] = []) => ({
  ids,
  sha256: [],
  subcomponents,
});

describe('purlCovers', () => {
  it('covers every version when the statement gives none, and one version when it does', () => {
    expect(purlCovers('pkg:deb/debian/openssl', openssl.purl)).toBe(true);
    expect(purlCovers('pkg:deb/debian/openssl@3.0.13-1~deb12u1', openssl.purl)).toBe(true);
    expect(purlCovers('pkg:deb/debian/openssl@3.0.14-1~deb12u1', openssl.purl)).toBe(false);
  });

  it('requires the statement qualifiers, not the package ones', () => {
    expect(purlCovers('pkg:deb/debian/openssl?arch=amd64', openssl.purl)).toBe(true);
    expect(purlCovers('pkg:deb/debian/openssl?arch=arm64', openssl.purl)).toBe(false);
  });

  it('tells types, namespaces and names apart', () => {
    expect(purlCovers('pkg:rpm/debian/openssl', openssl.purl)).toBe(false);
    expect(purlCovers('pkg:deb/ubuntu/openssl', openssl.purl)).toBe(false);
    expect(purlCovers('pkg:deb/debian/libssl3', openssl.purl)).toBe(false);
    expect(purlCovers('not a purl', openssl.purl)).toBe(false);
  });
});

describe('vexStatementFor', () => {
  it('applies an image statement (OCI purl at the digest) to every package of the image', () => {
    const s = statement({ products: [image([`pkg:oci/app@${encodeURIComponent(digest)}`])] });
    expect(vexStatementFor([s], openssl, subject)).toBe(s);
    expect(vexStatementFor([s], openssl, { ...subject, digest: `sha256:${'cd'.repeat(32)}` })).toBe(
      undefined,
    );
  });

  it('narrows an image statement to its subcomponents', () => {
    const s = statement({
      products: [image([digest], ['pkg:deb/debian/openssl'])],
    });
    expect(vexStatementFor([s], openssl, subject)).toBe(s);
    expect(
      vexStatementFor(
        [s],
        { ...openssl, purl: 'pkg:deb/debian/libssl3@3.0.13-1~deb12u1' },
        subject,
      ),
    ).toBe(undefined);
    // Without a purl, a package cannot be one of the statement's subcomponents.
    expect(vexStatementFor([s], { ...openssl, purl: undefined }, subject)).toBe(undefined);
  });

  it('matches an unversioned OCI purl by repository name and repository_url', () => {
    const byName = statement({ products: [image(['pkg:oci/app'])] });
    expect(vexStatementFor([byName], openssl, subject)).toBe(byName);
    const elsewhere = statement({
      products: [image(['pkg:oci/app?repository_url=ghcr.io/other/app'])],
    });
    expect(vexStatementFor([elsewhere], openssl, subject)).toBe(undefined);
    const here = statement({
      products: [
        image([
          'pkg:oci/app?repository_url=123456789012.dkr.ecr.eu-west-1.amazonaws.com/team-a/app',
        ]),
      ],
    });
    expect(vexStatementFor([here], openssl, subject)).toBe(here);
  });

  it('matches an image by its sha-256 hash', () => {
    const s = statement({ products: [{ ids: [], sha256: ['ab'.repeat(32)], subcomponents: [] }] });
    expect(vexStatementFor([s], openssl, subject)).toBe(s);
  });

  it('matches a package statement by purl, and the vulnerability by any id or alias', () => {
    const byAlias = statement({
      vulnerability: 'GHSA-none',
      aliases: ['DSA-5728-1'],
      products: [image(['pkg:deb/debian/openssl'])],
    });
    expect(vexStatementFor([byAlias], openssl, subject)).toBe(byAlias);
    const other = statement({
      vulnerability: 'CVE-2024-0001',
      products: [image(['pkg:deb/debian/openssl'])],
    });
    expect(vexStatementFor([other], openssl, subject)).toBe(undefined);
  });

  it('lets the latest statement win, document order breaking ties', () => {
    const products = [image(['pkg:deb/debian/openssl'])];
    const older = statement({ products, timestamp: '2024-07-01T00:00:00Z' });
    const newer = statement({
      products,
      status: 'affected',
      timestamp: '2024-08-01T00:00:00+02:00',
    });
    expect(vexStatementFor([newer, older], openssl, subject)).toBe(newer);
    const tie = statement({ products, status: 'fixed', timestamp: '2024-08-01T00:00:00+02:00' });
    expect(vexStatementFor([newer, tie], openssl, subject)).toBe(tie);
  });
});

describe('vexSuppresses and vexReason', () => {
  it('suppresses not_affected and fixed only', () => {
    expect(vexSuppresses(statement({ status: 'not_affected' }))).toBe(true);
    expect(vexSuppresses(statement({ status: 'fixed' }))).toBe(true);
    expect(vexSuppresses(statement({ status: 'affected' }))).toBe(false);
    expect(vexSuppresses(statement({ status: 'under_investigation' }))).toBe(false);
  });

  it('says the status, the justification and the document', () => {
    expect(vexReason(statement({ document: 'https://openvex.dev/docs/example/vex-1' }))).toBe(
      'vex: not_affected (vulnerable_code_not_in_execute_path) in https://openvex.dev/docs/example/vex-1',
    );
    expect(vexReason(statement({ status: 'fixed', justification: undefined }))).toBe('vex: fixed');
  });
});
