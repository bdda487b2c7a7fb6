import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { PROJECT_ROOT } from './fixtures.js';

/** Runs the `bosun` CLI as a user would (through tsx), returning status and output. */
export function bosun(...args: string[]) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'cli/bosun.ts'), ...args],
    { cwd: PROJECT_ROOT, encoding: 'utf8' },
  );
}
