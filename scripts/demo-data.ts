/**
 * The real data the demo and bench:pipeline use: the Node.js security WG's npm advisories, a
 * real application lockfile (osv-scanner's test data: concat-stream 1.5.0 among 106 packages),
 * and the Debian image built from them (debootstrap minbase plus a layer with the lockfile).
 */
import * as path from 'node:path';
import type { DebianImageOptions } from './debian-image.js';
import { PROJECT_ROOT } from './local/services.js';

export const DATA_DIR = path.resolve(
  process.env.BOSUN_DATA_DIR ?? path.join(PROJECT_ROOT, '..', 'shared', 'data'),
);
export const NPM_ADVISORIES = path.join(DATA_DIR, 'advisories/nodejs-security-wg/vuln/npm');
export const DEMO_LOCKFILE = path.join(
  DATA_DIR,
  'pkgdbs/osv-scanner/cmd/osv-scanner/fix/testdata/in-place-npm/package-lock.json',
);
/** The advisory that names a package of the lockfile at its installed version. */
export const DEMO_ADVISORY = 'NSWG-ECO-392';

export const DEMO_IMAGE: DebianImageOptions = {
  dir: path.join(PROJECT_ROOT, '.local', 'demo', 'debian'),
  packages: [],
  app: { 'srv/app/package-lock.json': DEMO_LOCKFILE },
  repoTag: 'bosun-demo/app:1',
};
