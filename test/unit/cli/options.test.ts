/**
 * The flags every image command shares (cli/options.ts), run as a user runs them: the source as
 * --input, --timeout, and the progress line on a real terminal (util-linux `script` gives the
 * CLI a pseudo-terminal) with --quiet and --no-progress.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../../../cli/options.js';
import { bosun } from '../../support/cli.js';
import { alpine34Rootfs, PROJECT_ROOT } from '../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-cli-options-'));
let rootfs: string;
beforeAll(() => {
  rootfs = alpine34Rootfs(work);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('--timeout durations', () => {
  it("reads Go's duration spelling, as Trivy's --timeout takes it", () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('5m0s')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('250ms')).toBe(250);
  });

  it('refuses what is not a positive duration, naming it', () => {
    for (const bad of ['', '10', 'five minutes', '5 m', '0s', '-5s', '5m junk'])
      expect(() => parseDuration(bad), bad).toThrow(/invalid --timeout/);
  });
});

// Each case starts the CLI as a process (tsx): seconds on a loaded machine.
describe('image sources', { timeout: 60_000 }, () => {
  it('takes the source as --input, the same as the positional', () => {
    const positional = bosun('sbom', `dir:${rootfs}`, '--format', 'spdx-json');
    const flag = bosun('sbom', '--input', `dir:${rootfs}`, '--format', 'spdx-json');
    expect(flag.status, flag.stderr).toBe(0);
    const names = (out: string) =>
      (JSON.parse(out) as { packages: { name: string }[] }).packages.map((p) => p.name);
    expect(names(flag.stdout)).toEqual(names(positional.stdout));
  });

  it('refuses two sources, and none, as usage errors (exit 2)', () => {
    const two = bosun('sbom', `dir:${rootfs}`, '--input', `dir:${rootfs}`);
    expect(two.status).toBe(2);
    expect(two.stderr).toMatch(/^bosun: one image source, not 2/);
    const none = bosun('scan', '--format', 'json');
    expect(none.status).toBe(2);
    expect(none.stderr).toBe(
      "bosun: no image source given\nusage: bosun scan <source> [flags]\nTry 'bosun scan --help'.\n",
    );
    expect(bosun('sbom', `dir:${rootfs}`, '--timeout', 'soon').status).toBe(2);
  });
});

describe('--timeout', { timeout: 60_000 }, () => {
  let server: Server;
  let port = 0;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // A registry that accepts connections and never answers.
    server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('gives up when the time is out: exit 3, a message, and no report file', () => {
    const report = path.join(work, 'report.json');
    const started = Date.now();
    const out = bosun(
      'inspect',
      `127.0.0.1:${port}/team/app:1`,
      '--timeout',
      '1s',
      '--json',
      '-o',
      report,
    );
    expect(out.status).toBe(3);
    expect(out.stderr).toBe('bosun: timed out after 1s (--timeout); no report written\n');
    expect(existsSync(report)).toBe(false);
    // It stopped at the deadline, not at the registry client's own (minutes long) timeouts.
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});

describe('the progress line', { timeout: 60_000 }, () => {
  /** Runs the CLI on a pseudo-terminal, returning everything the terminal was sent. */
  const onTerminal = (...args: string[]) => {
    const command = [
      process.execPath,
      '--import',
      'tsx',
      path.join(PROJECT_ROOT, 'cli/bosun.ts'),
      ...args,
    ]
      .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
      .join(' ');
    const out = spawnSync('script', ['-qefc', command, '/dev/null'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    expect(out.status, out.stdout).toBe(0);
    return out.stdout;
  };
  const CLEAR_LINE = '\r\u001b[2K';

  it('shows on a terminal, and neither with --quiet nor with --no-progress', () => {
    const args = ['sbom', `dir:${rootfs}`, '-o', path.join(work, 'sbom.json')];
    expect(onTerminal(...args)).toContain(`${CLEAR_LINE}dir:`);
    expect(onTerminal(...args, '--quiet')).not.toContain(CLEAR_LINE);
    expect(onTerminal(...args, '-q')).not.toContain(CLEAR_LINE);
    expect(onTerminal(...args, '--no-progress')).not.toContain(CLEAR_LINE);
  }, 60_000);
});
