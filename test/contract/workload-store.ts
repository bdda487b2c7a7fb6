/**
 * Contract of the workload inventory (shared/stores/workload-store.ts), run on every item-table
 * adapter of the images table (the embedded one in the unit project, DynamoDB Local in the
 * integration project). The observations are those of the ECS task state change events AWS
 * documents (test/fixtures/ecs/).
 */
import { describe, expect, it } from 'vitest';
import { ecsTaskStateChangeEvent } from '../../shared/events/ecs-task.js';
import { parseJsonEvent } from '../../shared/events/parse.js';
import { ImageStore } from '../../shared/stores/image-store.js';
import type { ItemTable } from '../../shared/stores/item-table.js';
import { WorkloadStore, workloadIndexKey } from '../../shared/stores/workload-store.js';
import { observationsOfTaskEvent } from '../../shared/workloads/ecs.js';
import type { Observation } from '../../shared/workloads/types.js';
import { fixtureText } from '../support/fixtures.js';

const observed = (scenario: string): Observation => {
  const [first] = observationsOfTaskEvent(
    parseJsonEvent(
      ecsTaskStateChangeEvent,
      'ECS Task State Change',
      fixtureText(`ecs/task-state-change/${scenario}.json`),
    ),
  );
  if (first === undefined) throw new Error(`${scenario}: no observation`);
  return first;
};
const RUNNING = observed('running');
const STOPPED = observed('stopped');
const DIGEST = RUNNING.digest as string;
const at = (o: Observation, seenAt: string, workload = o.workload) => {
  const { state: _s, digest: _d, ...rest } = o;
  return { ...rest, digest: DIGEST, workload, seenAt };
};
const key = (workload = RUNNING.workload, digest = DIGEST) => ({
  digest,
  source: 'ecs',
  workload,
});

export function workloadStoreContract(name: string, open: () => Promise<ItemTable>): void {
  describe(`${name} workload store contract`, () => {
    it('records the running task of the documented event, first and last seen, in use once', async () => {
      const store = new WorkloadStore(await open());
      expect(await store.record(at(RUNNING, RUNNING.seenAt))).toEqual({
        started: true,
        ignored: false,
      });
      expect(await store.record(at(RUNNING, '2020-01-23T18:05:00.000Z'))).toEqual({
        started: false,
        ignored: false,
      });
      // A redelivered older event does not move last seen back.
      await store.record(at(RUNNING, RUNNING.seenAt));
      expect(await store.get(key())).toEqual({
        digest: DIGEST,
        source: 'ecs',
        workload: RUNNING.workload,
        image: RUNNING.image,
        registry: '111122223333.dkr.ecr.us-west-2.amazonaws.com',
        repository: 'hello-repository',
        tag: 'latest',
        account: '111122223333',
        region: 'us-west-2',
        // The task's revision, whose checks join the image's user (pipeline/taskdef-checks.ts).
        taskDefinition: 'arn:aws:ecs:us-west-2:111122223333:task-definition/sample-fargate:1',
        firstSeenAt: '2020-01-23T17:57:58.103Z',
        lastSeenAt: '2020-01-23T18:05:00.000Z',
      });
      expect(await store.inUse(DIGEST)).toEqual({
        digest: DIGEST,
        inUseCount: 1,
        lastInUseAt: '2020-01-23T17:57:58.103Z',
        firstInUseAt: '2020-01-23T17:57:58.103Z',
      });
      expect((await store.running(DIGEST)).map((w) => w.workload)).toEqual([RUNNING.workload]);
    });

    it('counts two tasks on one digest, and one stopping leaves one, with its last use', async () => {
      const store = new WorkloadStore(await open());
      const other = RUNNING.workload.replace('c13b4cb4', 'd24c5dc5');
      await store.record(at(RUNNING, RUNNING.seenAt));
      await store.record(at(RUNNING, RUNNING.seenAt, other));
      expect((await store.inUse(DIGEST)).inUseCount).toBe(2);
      expect(await store.stop(key(), STOPPED.seenAt, true)).toBe(true);
      // Delivered again, and a RUNNING event older than the stop: nothing changes.
      expect(await store.stop(key(), STOPPED.seenAt, true)).toBe(false);
      expect(await store.record(at(RUNNING, '2020-01-23T18:00:00.000Z'))).toEqual({
        started: false,
        ignored: true,
      });
      expect(await store.inUse(DIGEST)).toMatchObject({
        inUseCount: 1,
        lastInUseAt: '2020-01-23T18:12:03.655Z',
      });
      expect(await store.get(key())).toMatchObject({
        stoppedAt: '2020-01-23T18:12:03.655Z',
        lastSeenAt: '2020-01-23T18:12:03.655Z',
      });
      expect((await store.running(DIGEST)).map((w) => w.workload)).toEqual([other]);
      expect(await store.history(DIGEST)).toHaveLength(2);
    });

    it('records the stop of a task never seen running, as last in use then', async () => {
      const store = new WorkloadStore(await open());
      expect(await store.stop(key(), STOPPED.seenAt, true, STOPPED.image)).toBe(false);
      expect(await store.get(key())).toMatchObject({
        image: STOPPED.image,
        stoppedAt: STOPPED.seenAt,
      });
      expect(await store.inUse(DIGEST)).toMatchObject({
        inUseCount: 0,
        lastInUseAt: STOPPED.seenAt,
      });
    });

    it("lists a source's running workloads not seen since a time, apart from repositories", async () => {
      const table = await open();
      const store = new WorkloadStore(table);
      const images = new ImageStore(table);
      await images.recordPush(
        DIGEST,
        `${RUNNING.registry}/${RUNNING.repository}`,
        'latest',
        '2020-01-20T00:00:00Z',
      );
      const old = RUNNING.workload.replace('c13b4cb4', '00000000');
      await store.record(at(RUNNING, '2020-01-23T17:00:00.500Z', old));
      await store.record(at(RUNNING, '2020-01-23T17:00:00Z'));
      await store.record(at(RUNNING, '2020-01-23T18:30:00Z', `${RUNNING.workload}-new`));
      await store.record({
        ...at(RUNNING, '2020-01-23T17:00:00Z', 'arn:aws:lambda:us-west-2:111122223333:function:f'),
        source: 'lambda',
      });
      const stale = await store.runningSeenBefore('ecs', '2020-01-23T18:00:00Z');
      expect(stale.map((w) => w.workload)).toEqual([RUNNING.workload, old]);
      // Stopped ones leave the index; none is ever an image of a repository.
      await store.stop(key(old), '2020-01-23T18:31:00Z', false);
      expect(
        (await store.runningSeenBefore('ecs', '2020-01-23T18:00:00Z')).map((w) => w.workload),
      ).toEqual([RUNNING.workload]);
      expect(await store.get(key(old))).toMatchObject({ lastSeenAt: '2020-01-23T17:00:00.500Z' });
      expect(
        (await images.imagesInRepository(`${RUNNING.registry}/${RUNNING.repository}`)).map(
          (r) => r.digest,
        ),
      ).toEqual([DIGEST]);
      expect(
        await table.queryIndex(
          { name: 'byRepository', partitionKey: 'repoKey', sortKey: 'pushedAt' },
          workloadIndexKey('lambda'),
        ),
      ).toHaveLength(1);
    });

    it('keeps the count right under concurrent observations of one digest', async () => {
      const store = new WorkloadStore(await open());
      const workloads = Array.from({ length: 12 }, (_, i) => `${RUNNING.workload}-${i}`);
      await Promise.all(workloads.map((w) => store.record(at(RUNNING, RUNNING.seenAt, w))));
      expect((await store.inUse(DIGEST)).inUseCount).toBe(12);
      await Promise.all(workloads.slice(0, 5).map((w) => store.stop(key(w), STOPPED.seenAt, true)));
      expect((await store.inUse(DIGEST)).inUseCount).toBe(7);
      expect(await store.running(DIGEST)).toHaveLength(7);
    });

    it('writes judgements only over the revision read', async () => {
      const store = new WorkloadStore(await open());
      const holding = {
        RUNNING_VULNERABLE: { since: RUNNING.seenAt, reason: '1 HIGH', announced: false },
      };
      expect(await store.putJudgements({ ...key(), holding, cleared: {} }, undefined)).toBe(true);
      expect(await store.putJudgements({ ...key(), holding: {}, cleared: {} }, undefined)).toBe(
        false,
      );
      const read = await store.judgements(key());
      expect(read).toEqual({ ...key(), holding, cleared: {}, revision: 1 });
      expect(
        await store.putJudgements(
          { ...key(), holding: {}, cleared: { RUNNING_VULNERABLE: STOPPED.seenAt } },
          1,
        ),
      ).toBe(true);
      expect(await store.judgements(key())).toMatchObject({ holding: {}, revision: 2 });
      expect(
        await store.judgements(key(RUNNING.workload, `sha256:${'0'.repeat(64)}`)),
      ).toBeUndefined();
    });
  });
}
