/**
 * Java archives, from the real commons-lang3 jar of Debian's libcommons-lang3-java (fetched by
 * `npm run setup`), alone and nested in archives built here around it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { javaArchive } from '../../../../../shared/extractors/language/java/archive.js';
import { RootfsDirSource } from '../../../../../shared/image/rootfs-dir.js';
import type { Image } from '../../../../../shared/image/types.js';
import { buildInventory } from '../../../../../shared/inventory/inventory.js';
import { debField, debFile, dpkgUnpack, upstreamVersion } from '../../../../support/debs.js';
import { zipOf } from '../../../../support/zip.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-java-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let jar: Buffer;
let version: string;
beforeAll(() => {
  const deb = debFile('libcommons-lang3-java');
  execFileSync('dpkg-deb', ['-x', deb, path.join(work, 'deb')]);
  jar = readFileSync(path.join(work, 'deb/usr/share/java/commons-lang3.jar'));
  version = upstreamVersion(debField(deb, 'Version'));
});

describe('language/java/archive', () => {
  it("reads a real jar's Maven coordinates from its pom.properties", async () => {
    const result = await javaArchive.extract('usr/share/java/commons-lang3.jar', jar);
    expect(result).toEqual({
      packages: [
        {
          type: 'maven',
          name: 'org.apache.commons:commons-lang3',
          version,
          location: 'usr/share/java/commons-lang3.jar',
        },
      ],
      issues: [],
    });
  });

  it('finds jars inside a war inside an ear, and stops past three levels', async () => {
    const war = await zipOf({
      'WEB-INF/web.xml': Buffer.from('<web-app/>'),
      'WEB-INF/lib/commons-lang3.jar': jar,
    });
    const ear = await zipOf({ 'app.war': war });
    const result = await javaArchive.extract('srv/app.ear', ear);
    expect(result.packages).toEqual([
      {
        type: 'maven',
        name: 'org.apache.commons:commons-lang3',
        version,
        location: 'srv/app.ear!/app.war!/WEB-INF/lib/commons-lang3.jar',
      },
    ]);
    const deep = await zipOf({ 'd.jar': await zipOf({ 'c.jar': await zipOf({ 'b.jar': ear }) }) });
    const tooDeep = await javaArchive.extract('a.jar', deep);
    expect(tooDeep.packages).toEqual([]);
    expect(tooDeep.issues.map((i) => i.message)).toEqual([
      'a.jar!/d.jar!/c.jar!/b.jar!/app.war: nested deeper than 3',
    ]);
  });

  it('reads on past a damaged nested archive', async () => {
    const war = await zipOf({
      'WEB-INF/lib/a-broken.jar': Buffer.from('PK\x03\x04 not really a zip'),
      'WEB-INF/lib/commons-lang3.jar': jar,
    });
    const result = await javaArchive.extract('srv/app.war', war);
    expect(result.packages.map((p) => p.location)).toEqual([
      'srv/app.war!/WEB-INF/lib/commons-lang3.jar',
    ]);
    expect(result.issues.map((i) => i.location)).toEqual(['srv/app.war!/WEB-INF/lib/a-broken.jar']);
  });

  it('reports a corrupt archive as an issue', async () => {
    const result = await javaArchive.extract('lib/broken.jar', jar.subarray(0, jar.length / 2));
    expect(result.packages).toEqual([]);
    expect(result.issues[0]?.message).toMatch(/^lib\/broken\.jar: /);
  });

  it('marks only the jar a Debian package installed as owned by it, not an application jar beside it', async () => {
    const root = path.join(work, 'debian-java');
    dpkgUnpack(root, debFile('libcommons-lang3-java'));
    // The same jar, dropped by an application into the directory the Debian package owns too.
    execFileSync('cp', [
      path.join(root, 'usr/share/java/commons-lang3.jar'),
      path.join(root, 'usr/share/java/myapp.jar'),
    ]);
    const inventory = await buildInventory(
      (await new RootfsDirSource(root).images()).images[0] as Image,
    );
    const byLocation = Object.fromEntries(
      inventory.packages
        .filter((p) => p.type === 'maven')
        .map((p) => [p.location, p.osOwnedBy ?? null]),
    );
    expect(byLocation).toEqual({
      'usr/share/java/commons-lang3.jar': 'libcommons-lang3-java',
      'usr/share/java/myapp.jar': null,
    });
  });

  it('gives the package its Maven PURL in an inventory', async () => {
    const root = path.join(work, 'rootfs');
    mkdirSync(path.join(root, 'opt/app/lib'), { recursive: true });
    execFileSync('cp', [
      path.join(work, 'deb/usr/share/java/commons-lang3.jar'),
      path.join(root, 'opt/app/lib/'),
    ]);
    const inventory = await buildInventory(
      (await new RootfsDirSource(root).images()).images[0] as Image,
    );
    expect(inventory.packages).toMatchObject([
      {
        name: 'org.apache.commons:commons-lang3',
        ecosystem: 'Maven',
        purl: `pkg:maven/org.apache.commons/commons-lang3@${version}`,
      },
    ]);
  });
});
