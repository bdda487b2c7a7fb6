import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { pidAlive } from '../../scripts/local/services.js';
import {
  checkHealth,
  down,
  LocalStackUnhealthyError,
  readState,
  up,
} from '../../scripts/local/stack.js';

const shared = inject('localStack');
// A second stack of its own, so that killing its services leaves the shared one alone.
const dir = mkdtempSync(path.join(tmpdir(), 'bosun-stack-'));
afterAll(async () => {
  await down(dir);
  rmSync(dir, { recursive: true, force: true });
});

/** SIGKILL is delivered at once but the process may take a moment to be gone. */
async function killed(pid: number): Promise<void> {
  process.kill(-pid, 'SIGKILL');
  const deadline = Date.now() + 10_000;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

async function healthError(): Promise<LocalStackUnhealthyError> {
  const state = readState(dir);
  if (state === undefined) throw new Error('no state');
  try {
    await checkHealth(state);
  } catch (error) {
    if (error instanceof LocalStackUnhealthyError) return error;
    throw error;
  }
  throw new Error('the stack was reported healthy');
}

describe('local stack lifecycle', () => {
  it('starts once, reuses a healthy stack, names each killed service, and stops exactly what it started', async () => {
    const first = await up({ dir, templateFile: shared.templateFile });
    expect(first.reused).toBe(false);
    await checkHealth(first.state);
    const again = await up({ dir, templateFile: shared.templateFile });
    expect(again.reused).toBe(true);
    expect(again.state.services.dynamodb.pid).toBe(first.state.services.dynamodb.pid);

    await killed(first.state.services.registry.pid);
    const afterRegistry = await healthError();
    expect(afterRegistry.failures.map((f) => f.service)).toEqual(['registry']);
    expect(afterRegistry.message).toMatch(/registry: process \d+ is not running/);

    await killed(first.state.services.dynamodb.pid);
    const afterDynamo = await healthError();
    expect(afterDynamo.failures.map((f) => f.service).sort()).toEqual(['dynamodb', 'registry']);

    // An unhealthy stack is replaced, not patched.
    const restarted = await up({ dir, templateFile: shared.templateFile });
    expect(restarted.reused).toBe(false);
    await checkHealth(restarted.state);
    expect(pidAlive(first.state.services.fauxqs.pid)).toBe(false);

    const stopped = await down(dir);
    expect(stopped.map((s) => s.pid).sort()).toEqual(
      Object.values(restarted.state.services)
        .map((s) => s.pid)
        .sort(),
    );
    for (const s of stopped) expect(pidAlive(s.pid)).toBe(false);
    expect(readState(dir)).toBeUndefined();
    // The stack the other tests use is untouched.
    await checkHealth(shared);
  }, 120_000);

  it('answers a dead service, not a hung one: a stopped port fails the probe with the service named', async () => {
    const { state } = await up({ dir, templateFile: shared.templateFile });
    process.kill(state.services.fauxqs.pid, 'SIGSTOP');
    try {
      const error = await healthError();
      expect(error.failures.map((f) => f.service)).toEqual(['fauxqs']);
      expect(error.message).toMatch(/fauxqs: not answering at http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      process.kill(state.services.fauxqs.pid, 'SIGCONT');
    }
    await checkHealth(state);
  }, 60_000);
});
