/**
 * Real rpm databases made at test time by rpm itself (Debian's `rpm` package, installed by
 * setup): one empty package per name, version and release that real advisories or real image
 * package lists name, built with rpmbuild and recorded with `rpm --root … --justdb` in the
 * sqlite backend that rpm 4.16+ distributions (Amazon Linux 2023, RHEL 9) use. No database is
 * written by hand.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export interface RpmNevra {
  readonly name: string;
  readonly epoch?: number;
  readonly version: string;
  readonly release: string;
  /**
   * The source package it is built from, when its name differs (`openssl-libs` from `openssl`):
   * built as a subpackage, so its header's SOURCERPM names the source as a distribution's does.
   */
  readonly source?: string;
}

/** Installs the packages' headers into `<root>/var/lib/rpm/rpmdb.sqlite`; returns `root`. */
export function rpmRoot(root: string, work: string, packages: readonly RpmNevra[]): string {
  const top = path.join(work, 'rpmbuild');
  mkdirSync(path.join(top, 'SPECS'), { recursive: true });
  for (const p of packages) {
    const spec = path.join(top, 'SPECS', `${p.name}.spec`);
    writeFileSync(
      spec,
      [
        `Name: ${p.source ?? p.name}`,
        ...(p.epoch === undefined ? [] : [`Epoch: ${p.epoch}`]),
        `Version: ${p.version}`,
        `Release: ${p.release}`,
        'Summary: header only, for a test package database',
        'License: MIT',
        'BuildArch: noarch',
        '%description',
        'Header only.',
        ...(p.source === undefined
          ? ['%files']
          : [
              `%package -n ${p.name}`,
              'Summary: header only, for a test package database',
              `%description -n ${p.name}`,
              'Header only.',
              `%files -n ${p.name}`,
            ]),
        '',
      ].join('\n'),
    );
    execFileSync(
      'rpmbuild',
      ['-bb', '--define', `_topdir ${top}`, '--define', '_build_id_links none', spec],
      { stdio: 'ignore' },
    );
  }
  const rpms = path.join(top, 'RPMS', 'noarch');
  const rpm = (...args: string[]) =>
    execFileSync(
      'rpm',
      ['--root', root, '--dbpath', '/var/lib/rpm', '--define', '_db_backend sqlite', ...args],
      { stdio: 'ignore' },
    );
  rpm('--initdb');
  rpm(
    '-i',
    '--justdb',
    '--nodeps',
    '--noscripts',
    '--ignorearch',
    '--ignoreos',
    ...readdirSync(rpms).map((f) => path.join(rpms, f)),
  );
  return root;
}
