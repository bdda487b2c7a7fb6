/**
 * Lambda workloads on a real LambdaClient answered at its request handler as the Lambda API
 * reference documents ListFunctions (paginated by Marker) and GetFunction (Code.ImageUri and
 * Code.ResolvedImageUri of a container-image function).
 */
import type {
  FunctionConfiguration,
  GetFunctionCommandOutput,
  ListFunctionsCommandOutput,
} from '@aws-sdk/client-lambda';
import { expect, it } from 'vitest';
import { readLambdaWorkloads } from '../../../shared/workloads/lambda.js';
import { fakeLambda } from './sdk-fakes.js';

type Out<T> = Omit<T, '$metadata'>;
const REGISTRY = '111122223333.dkr.ecr.us-west-2.amazonaws.com';
const arn = (name: string) => `arn:aws:lambda:us-west-2:111122223333:function:${name}`;
const DIGEST = `sha256:${'5e'.repeat(32)}`;

const FUNCTIONS: FunctionConfiguration[] = [
  { FunctionName: 'zip-fn', FunctionArn: arn('zip-fn'), PackageType: 'Zip', Runtime: 'nodejs20.x' },
  { FunctionName: 'thumbnails', FunctionArn: arn('thumbnails'), PackageType: 'Image' },
  { FunctionName: 'by-digest', FunctionArn: arn('by-digest'), PackageType: 'Image' },
];

it('reads the image and digest of each container-image function, paginated', async () => {
  const { client, seen } = fakeLambda((r) => {
    if (r.path === '/2015-03-31/functions') {
      const first = r.query.Marker === undefined;
      return {
        body: (first
          ? { Functions: FUNCTIONS.slice(0, 2), NextMarker: 'page-2' }
          : { Functions: FUNCTIONS.slice(2) }) satisfies Out<ListFunctionsCommandOutput>,
      };
    }
    const name = decodeURIComponent(r.path.split('/').pop() as string);
    const imageUri =
      name === arn('thumbnails') ? `${REGISTRY}/thumbnails:v3` : `${REGISTRY}/thumbnails@${DIGEST}`;
    return {
      body: {
        Configuration: FUNCTIONS.find((f) => f.FunctionArn === name) as FunctionConfiguration,
        Code: {
          RepositoryType: 'ECR',
          ImageUri: imageUri,
          ResolvedImageUri: `${REGISTRY}/thumbnails@${DIGEST}`,
        },
      } satisfies Out<GetFunctionCommandOutput>,
    };
  });
  const now = new Date('2026-11-29T10:00:00.000Z');
  const observed = await readLambdaWorkloads(client, { intervalMs: 0, now: () => now });
  expect(seen.map((r) => [r.method, r.path, r.query.Marker ?? null])).toEqual([
    ['GET', '/2015-03-31/functions', null],
    ['GET', '/2015-03-31/functions', 'page-2'],
    ['GET', `/2015-03-31/functions/${encodeURIComponent(arn('thumbnails'))}`, null],
    ['GET', `/2015-03-31/functions/${encodeURIComponent(arn('by-digest'))}`, null],
  ]);
  expect(observed).toEqual([
    {
      source: 'lambda',
      workload: arn('thumbnails'),
      image: `${REGISTRY}/thumbnails:v3`,
      digest: DIGEST,
      registry: REGISTRY,
      repository: 'thumbnails',
      tag: 'v3',
      account: '111122223333',
      region: 'us-west-2',
      seenAt: now.toISOString(),
      state: 'RUNNING',
    },
    // Deployed by digest: no tag to go stale.
    {
      source: 'lambda',
      workload: arn('by-digest'),
      image: `${REGISTRY}/thumbnails@${DIGEST}`,
      digest: DIGEST,
      registry: REGISTRY,
      repository: 'thumbnails',
      account: '111122223333',
      region: 'us-west-2',
      seenAt: now.toISOString(),
      state: 'RUNNING',
    },
  ]);
  client.destroy();
});
