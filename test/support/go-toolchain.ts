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

/**
 * Builds `main.go` as module `example.com/<name>` once per build. `vendored` modules (path ->
 * version -> files under the module root) are written to vendor/ with the modules.txt cmd/go
 * reads, and built with -mod=vendor: no network, and the build info records them as deps.
 */
export function buildGo(
  work: string,
  name: string,
  source: string,
  vendored: Record<string, { version: string; files: Record<string, string> }> = {},
): Record<string, string> {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const modules = Object.entries(vendored);
  writeFileSync(
    path.join(dir, 'go.mod'),
    `module example.com/${name}\n\ngo 1.19\n${modules.map(([m, v]) => `\nrequire ${m} ${v.version}\n`).join('')}`,
  );
  writeFileSync(path.join(dir, 'main.go'), source);
  const txt: string[] = [];
  for (const [module, { version, files }] of modules) {
    txt.push(`# ${module} ${version}`, '## explicit');
    const packages = new Set<string>();
    for (const [file, text] of Object.entries(files)) {
      const full = path.join(dir, 'vendor', module, file);
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, text);
      packages.add(path.posix.join(module, path.posix.dirname(file)).replace(/\/\.$/, ''));
    }
    txt.push(...[...packages].sort());
  }
  if (modules.length > 0)
    writeFileSync(path.join(dir, 'vendor', 'modules.txt'), `${txt.join('\n')}\n`);
  const mode = modules.length > 0 ? ['-mod=vendor'] : [];
  const out: Record<string, string> = {};
  for (const b of BUILDS) {
    const file = path.join(dir, `${name}-${b.label}`);
    execFileSync('go', ['build', ...mode, ...b.flags, '-o', file, '.'], {
      cwd: dir,
      env: goEnv(work),
    });
    out[b.label] = file;
  }
  return out;
}
