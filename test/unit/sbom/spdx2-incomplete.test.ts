/**
 * Never a silent gap in an SBOM: an image with a layer that could not be read gets SPDX 2.3
 * documents (JSON and tag-value) that say so in the creator comment (clause 6.11), with why.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { buildInventory } from '../../../shared/inventory/inventory.js';
import { toSpdx23 } from '../../../shared/sbom/spdx2.js';
import { toSpdx23TagValue } from '../../../shared/sbom/spdx2-tag-value.js';
import { dataDir } from '../../support/fixtures.js';
import { LayoutWriter, tarOf } from '../../support/oci.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-spdx-incomplete-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const TOOL = { name: 'bosun', version: '0.1.0' };

it('says in the creator comment that packages may be missing when a layer could not be read', async () => {
  const root = path.join(dataDir(), 'pkgdbs/trivy/derived/alpine-310');
  const layer = await tarOf([
    { path: 'etc/os-release', content: readFileSync(path.join(root, 'etc/os-release')) },
    {
      path: 'lib/apk/db/installed',
      content: readFileSync(path.join(root, 'lib/apk/db/installed')),
    },
  ]);
  const w = new LayoutWriter(path.join(work, 'layout'));
  w.finish(w.image({ architecture: 'amd64', layers: [layer, Buffer.from('not a tar')] }), 'app');
  const [image] = (await new OciLayoutSource(path.join(work, 'layout'), 'app').images()).images;
  const inventory = await buildInventory(image as NonNullable<typeof image>);
  expect(inventory.complete).toBe(false);

  const json = JSON.parse(toSpdx23(image as NonNullable<typeof image>, inventory, TOOL)) as {
    creationInfo: { comment?: string };
  };
  expect(json.creationInfo.comment).toMatch(/^INCOMPLETE: parts of the image could not be read/);
  expect(json.creationInfo.comment).toContain('layer 1');
  const tagValue = toSpdx23TagValue(image as NonNullable<typeof image>, inventory, TOOL);
  expect(tagValue).toContain(
    'CreatorComment: <text>INCOMPLETE: parts of the image could not be read',
  );

  // A whole image says nothing of the kind.
  const whole = new LayoutWriter(path.join(work, 'whole'));
  whole.finish(whole.image({ architecture: 'amd64', layers: [layer] }), 'app');
  const [complete] = (await new OciLayoutSource(path.join(work, 'whole'), 'app').images()).images;
  const full = await buildInventory(complete as NonNullable<typeof complete>);
  expect(toSpdx23TagValue(complete as NonNullable<typeof complete>, full, TOOL)).not.toContain(
    'CreatorComment',
  );
});
