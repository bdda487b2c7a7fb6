/**
 * Starts the local stack for the integration tests, or reuses the one `npm run local:up`
 * started. A stack this setup started is stopped when the run ends; a reused one is left.
 */
import type { TestProject } from 'vitest/node';
import { DEFAULT_LOCAL_DIR, down, type LocalStackState, up } from '../scripts/local/stack.js';

declare module 'vitest' {
  export interface ProvidedContext {
    localStack: LocalStackState;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const dir = process.env.BOSUN_LOCAL_DIR ?? DEFAULT_LOCAL_DIR;
  const { state, reused } = await up({ dir });
  project.provide('localStack', state);
  return async () => {
    if (!reused) await down(dir);
  };
}
