import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerArchiveSource } from '../../../shared/image/docker-archive.js';
import { bosun } from '../../support/cli.js';
import { dataDir } from '../../support/fixtures.js';

describe('bosun inspect', () => {
  it('prints the platform, OS and layers of a real `docker save` archive', async () => {
    const archive = path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz');
    const out = bosun('inspect', '--json', `docker-archive:${archive}`);
    expect(out.status, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout) as {
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
    const out = bosun('inspect');
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('usage: bosun inspect <source>');
  }, 30_000);
});
