/**
 * Debian's Go toolchain and govulncheck as `npm run setup` unpacks them under .local/tools
 * (scripts/setup.sh: golang-1.19-go, golang-1.19-src, govulncheck), for tests that build real Go
 * binaries and ask govulncheck about them. Nothing here reaches the network: GOPROXY=off, and
 * the programs built import the standard library only.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { setupFile } from './fixtures.js';

export const goRoot = (): string =>
  path.dirname(path.dirname(setupFile('go/usr/lib/go-1.19/bin/go')));
export const govulncheckPath = (): string => setupFile('govulncheck/usr/bin/govulncheck');

/** The environment Go commands run in: no network, caches under `work`. */
export function goEnv(work: string): NodeJS.ProcessEnv {
  return {
    PATH: `${path.join(goRoot(), 'bin')}:${process.env.PATH ?? ''}`,
    HOME: work,
    GOROOT: goRoot(),
    GOPATH: path.join(work, 'gopath'),
    GOCACHE: path.join(work, 'gocache'),
    GOPROXY: 'off',
    GOFLAGS: '-mod=mod',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
  };
}

export interface GoBuild {
  readonly label: string;
  readonly flags: readonly string[];
}

/** The four ways a binary is linked that change where and whether its symbol table is kept. */
export const BUILDS: readonly GoBuild[] = [
  { label: 'plain', flags: [] },
  { label: 'stripped', flags: ['-ldflags=-s -w'] },
  { label: 'pie', flags: ['-buildmode=pie'] },
  { label: 'pie-stripped', flags: ['-buildmode=pie', '-ldflags=-s -w'] },
];

/** Builds `main.go` (a stdlib-only program) as module `example.com/<name>` once per build. */
export function buildGo(work: string, name: string, source: string): Record<string, string> {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'go.mod'), `module example.com/${name}\n\ngo 1.19\n`);
  writeFileSync(path.join(dir, 'main.go'), source);
  const out: Record<string, string> = {};
  for (const b of BUILDS) {
    const file = path.join(dir, `${name}-${b.label}`);
    execFileSync('go', ['build', ...b.flags, '-o', file, '.'], { cwd: dir, env: goEnv(work) });
    out[b.label] = file;
  }
  return out;
}
