import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerArchiveSource } from '../../../shared/image/docker-archive.js';
import { dataDir, PROJECT_ROOT } from '../../support/fixtures.js';

describe('bosun inspect', () => {
  it('prints the platform, OS and layers of a real `docker save` archive', async () => {
    const archive = path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz');
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(PROJECT_ROOT, 'cli/bosun.ts'),
        'inspect',
        '--json',
        `docker-archive:${archive}`,
      ],
      {
        encoding: 'utf8',
        cwd: PROJECT_ROOT,
      },
    );
    const report = JSON.parse(out) as {
      images: {
        platform: string;
        os: string;
        files: number;
        complete: boolean;
        layers: { diffId: string }[];
      }[];
    };
    expect(report.images).toHaveLength(1);
    expect(report.images[0]).toMatchObject({
      platform: 'linux/amd64',
      os: 'Alpine Linux v3.10',
      complete: true,
    });
    const { images } = await new DockerArchiveSource(archive).images();
    expect(report.images[0]?.layers.map((l) => l.diffId)).toEqual(
      images[0]?.layers.map((l) => l.diffId),
    );
    expect(report.images[0]?.files).toBeGreaterThan(400);
  }, 30_000);

  it('exits 2 with the usage on a missing source', () => {
    let status: number | undefined;
    try {
      execFileSync(
        process.execPath,
        ['--import', 'tsx', path.join(PROJECT_ROOT, 'cli/bosun.ts'), 'inspect'],
        { cwd: PROJECT_ROOT, stdio: 'pipe' },
      );
    } catch (error) {
      status = (error as { status?: number }).status;
    }
    expect(status).toBe(2);
  }, 30_000);
});
