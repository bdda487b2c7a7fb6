/**
 * The CLI as a product (issue 16): its report reaches a slow pipe reader whole (a real
 * bookworm machine's dpkg status makes a 0.5 MB CycloneDX document, far past a pipe's 64 KiB),
 * `-o FILE` holds the same bytes or nothing, a reader that closes early ends the writing quietly,
 * and help, version and usage errors behave as documented.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bosun } from '../../support/cli.js';
import { dataDir, PROJECT_ROOT } from '../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-output-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const root = () => `dir:${path.join(dataDir(), 'pkgdbs/local-debian12')}`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Runs `bosun args | <reader>` in a shell with pipefail; the reader writes what it got to a file. */
function piped(args: readonly string[], reader: string) {
  const cli = `'${process.execPath}' --import tsx cli/bosun.ts ${args.map((a) => `'${a}'`).join(' ')}`;
  return spawnSync('bash', ['-o', 'pipefail', '-c', `${cli} | ${reader}`], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  });
}

describe('bosun output', () => {
  it('hands a large report whole to a slow pipe reader, and -o holds the same bytes', () => {
    const file = path.join(work, 'bom.json');
    const written = bosun('sbom', root(), '--format', 'cyclonedx', '-o', file);
    expect(written.status, written.stderr).toBe(0);
    expect(written.stdout).toBe('');
    const whole = readFileSync(file);
    expect(whole.length).toBeGreaterThan(256 * 1024);
    // A reader that takes 1 KiB at a time, pausing between reads.
    const got = path.join(work, 'piped.json');
    const slow = `node -e "const fs=require('fs');const out=fs.openSync(process.argv[1],'w');process.stdin.on('readable',function read(){const c=process.stdin.read(1024);if(c===null)return;fs.writeSync(out,c);setTimeout(read,1)});" '${got}'`;
    const run = piped(['sbom', root(), '--format', 'cyclonedx'], slow);
    expect(run.status, run.stderr).toBe(0);
    const received = readFileSync(got);
    expect(received.length).toBe(whole.length);
    // The two documents differ only in their serial number and timestamp.
    const strip = (b: Buffer) =>
      Buffer.from(
        b
          .toString('utf8')
          .replace(/"serialNumber": "[^"]*"/, '')
          .replace(/"timestamp": "[^"]*"/, ''),
      );
    expect(sha(strip(received))).toBe(sha(strip(whole)));
  }, 120_000);

  it('ends quietly when the reader closes the pipe early, with the exit code of the work', () => {
    const run = piped(['sbom', root(), '--format', 'cyclonedx'], 'head -c 100 > /dev/null');
    expect(run.status).toBe(0);
    expect(run.stderr).not.toMatch(/EPIPE|Error/);
  }, 120_000);

  it('writes -o into a named pipe or device in place, never renaming a file over it', () => {
    // As `-o /dev/null` or `-o /dev/stdout` would be: a FIFO of the test's own stands in.
    const fifo = path.join(work, 'report.fifo');
    const got = path.join(work, 'from-fifo.json');
    const cli = `'${process.execPath}' --import tsx cli/bosun.ts sbom '${root()}' --format spdx-json -o '${fifo}'`;
    const run = spawnSync(
      'bash',
      ['-c', `mkfifo '${fifo}' && { cat '${fifo}' > '${got}' & } && ${cli} && wait`],
      { cwd: PROJECT_ROOT, encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(statSync(fifo).isFIFO()).toBe(true);
    const doc = JSON.parse(readFileSync(got, 'utf8')) as { spdxVersion: string };
    expect(doc.spdxVersion).toBe('SPDX-2.3');
  }, 120_000);

  it('leaves no -o file when the command fails', () => {
    const file = path.join(work, 'never.json');
    const out = bosun('sbom', `dir:${path.join(work, 'no-such-folder')}`, '-o', file);
    expect(out.status).toBe(3);
    expect(existsSync(file)).toBe(false);
  }, 60_000);

  it('reads a path as what it holds, without a prefix, and names the platforms an image has', () => {
    // trivy's real `docker save` archive of alpine:3.10 (gzip'd), and a real root filesystem.
    const archive = path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz');
    const inspect = bosun('inspect', archive, '--json');
    expect(inspect.status, inspect.stderr).toBe(0);
    expect(inspect.stdout).toContain('"platform": "linux/amd64"');
    const rootfs = bosun(
      'sbom',
      path.join(dataDir(), 'pkgdbs/local-debian12'),
      '--format',
      'spdx-json',
    );
    expect(rootfs.status, rootfs.stderr).toBe(0);
    expect(rootfs.stdout).toContain('"spdxVersion": "SPDX-2.3"');
    const arm = bosun('inspect', archive, '--platform', 'linux/arm64');
    expect(arm.status).toBe(2);
    expect(arm.stderr).toBe(`bosun: ${archive} has no image for linux/arm64; it has linux/amd64\n`);
    const missing = bosun('inspect', './no-such-image.tar');
    expect(missing.status).toBe(3);
    expect(missing.stderr).toContain(
      'bosun: ./no-such-image.tar: no such file or folder (an image in a registry is written registry/repository:tag)',
    );
  }, 120_000);

  it('prints help on stdout with exit 0, the version, and usage errors with exit 2', () => {
    const help = bosun('scan', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('bosun scan <source> [flags]');
    expect(help.stdout).toContain('--fail-on SEVERITY[,kev][,unknown]');
    expect(bosun('help', 'db').stdout).toContain('bosun db sync');
    expect(bosun('--help').stdout).toContain('exit codes:');
    const version = bosun('--version');
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^bosun 0\.1\.0 \(analyzer 0\.1\.0\+[0-9a-f]{12}\)\n$/);
    const unknown = bosun('scan', root(), '--bogus');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe("bosun: Unknown option '--bogus'\nTry 'bosun scan --help'.\n");
    expect(bosun('frobnicate').status).toBe(2);
    expect(bosun().status).toBe(2);
  }, 120_000);
});
