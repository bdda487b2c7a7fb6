import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from './fixtures.js';

/** Runs the `bosun` CLI as a user would (through tsx), returning status and output. */
export function bosun(...args: string[]) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'cli/bosun.ts'), ...args],
    { cwd: PROJECT_ROOT, encoding: 'utf8' },
  );
}

/**
 * `bosun(...)` with `env` merged over this process's environment (an undefined value removes
 * the variable) and, optionally, another working folder.
 */
export function bosunWith(
  options: { env?: Record<string, string | undefined>; cwd?: string },
  ...args: string[]
) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  // `--import tsx` is resolved from the working folder: named by its file, it loads from any.
  const tsx = pathToFileURL(createRequire(path.join(PROJECT_ROOT, 'package.json')).resolve('tsx'));
  return spawnSync(
    process.execPath,
    ['--import', tsx.href, path.join(PROJECT_ROOT, 'cli/bosun.ts'), ...args],
    { cwd: options.cwd ?? PROJECT_ROOT, encoding: 'utf8', env },
  );
}
