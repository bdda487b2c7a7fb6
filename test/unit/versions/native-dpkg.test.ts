import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dpkg } from '../../../shared/versions/dpkg.js';
import { dataDir, PROJECT_ROOT } from '../../support/fixtures.js';

describe('dpkg scheme against dpkg itself', () => {
  it('agrees with `dpkg --compare-versions` (through scripts/version-vectors.sh) on archive versions', () => {
    const versions = readFileSync(
      path.join(dataDir(), 'versions/dpkg/debian12-archive/unique-versions-sorted.txt'),
      'utf8',
    )
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.replace(/^= /, ''));
    // A fixed spread of pairs: far apart, adjacent, and with epochs and tildes on either side.
    const pairs: string[] = [];
    for (let i = 0; i < 150; i++) {
      const a = versions[(i * 7919) % versions.length] as string;
      const b = versions[(i * 104729 + 13) % versions.length] as string;
      pairs.push(`${a}\t${b}`, `${a}\t${versions[((i * 7919) % versions.length) + 1] ?? b}`);
    }
    const out = execFileSync(
      'bash',
      [path.join(PROJECT_ROOT, 'scripts/version-vectors.sh'), 'dpkg'],
      { input: `${pairs.join('\n')}\n`, encoding: 'utf8' },
    );
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('\t') as [string, string, string]);
    expect(rows).toHaveLength(300);
    const op = { '<': -1, '=': 0, '>': 1 } as const;
    for (const [a, o, b] of rows)
      expect(dpkg.compare(a, b), `${a} ${o} ${b}`).toBe(op[o as keyof typeof op]);
  }, 60_000);
});
