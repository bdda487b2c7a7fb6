/**
 * `bosun remote …` run as a user runs it (a child process through tsx), without blocking this
 * process: the API it calls is often served from here (scripts/local/api-host.ts). Credentials
 * are the local stack's access key, through the SDK's default chain (its environment provider).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LOCAL_CREDENTIALS } from '../../scripts/local/services.js';
import { PROJECT_ROOT } from './fixtures.js';

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const tsx = pathToFileURL(createRequire(path.join(PROJECT_ROOT, 'package.json')).resolve('tsx'));

export const bosunRemote = (...args: string[]): Promise<CliRun> => bosunRemoteWith({}, ...args);

/** `bosunRemote` with `extra` variables set in its environment. */
export function bosunRemoteWith(
  extra: Readonly<Record<string, string>>,
  ...args: string[]
): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  };
  // Nothing of this machine's AWS configuration: the signature is the local key's alone.
  for (const name of [
    'AWS_PROFILE',
    'AWS_SESSION_TOKEN',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
    'BOSUN_API_URL',
  ])
    delete env[name];
  Object.assign(env, extra);
  const child = spawn(
    process.execPath,
    ['--import', tsx.href, path.join(PROJECT_ROOT, 'cli/bosun.ts'), 'remote', ...args],
    { cwd: PROJECT_ROOT, env },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve) =>
    child.on('close', (status) => resolve({ status, stdout, stderr })),
  );
}
