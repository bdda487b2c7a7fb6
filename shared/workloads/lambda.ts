/**
 * Lambda container-image functions: ListFunctions (PackageType `Image`) then GetFunction, whose
 * `Code.ResolvedImageUri` is the repository and digest the function runs (`Code.ImageUri` is the
 * image as the function was given it, usually by tag).
 * https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html,
 * https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html,
 * https://docs.aws.amazon.com/lambda/latest/api/API_FunctionCodeLocation.html
 */
import {
  GetFunctionCommand,
  type LambdaClient,
  ListFunctionsCommand,
} from '@aws-sdk/client-lambda';
import { arnScope, type Observation, observation, Pacer } from './types.js';

export interface LambdaReadOptions {
  /** Minimum time between two Lambda API calls. @default 100 ms */
  readonly intervalMs?: number;
  readonly now?: () => Date;
}

/** Every container-image function of the client's account and region (their $LATEST). */
export async function readLambdaWorkloads(
  lambda: LambdaClient,
  options: LambdaReadOptions = {},
): Promise<Observation[]> {
  const pacer = new Pacer(options.intervalMs ?? 100);
  const functions: string[] = [];
  let marker: string | undefined;
  do {
    await pacer.wait();
    const page = await lambda.send(new ListFunctionsCommand({ MaxItems: 50, Marker: marker }));
    for (const f of page.Functions ?? [])
      if (f.PackageType === 'Image' && f.FunctionArn !== undefined) functions.push(f.FunctionArn);
    marker = page.NextMarker;
  } while (marker !== undefined);
  const out: Observation[] = [];
  for (const arn of functions) {
    await pacer.wait();
    const { Code: code } = await lambda.send(new GetFunctionCommand({ FunctionName: arn }));
    const resolved = code?.ResolvedImageUri;
    const image = code?.ImageUri ?? resolved;
    if (image === undefined) continue;
    const digest = resolved?.slice(resolved.indexOf('@') + 1);
    out.push(
      observation(
        {
          source: 'lambda',
          workload: arn,
          image,
          ...arnScope(arn),
          seenAt: (options.now?.() ?? new Date()).toISOString(),
          state: 'RUNNING',
        },
        resolved?.includes('@') ? digest : undefined,
      ),
    );
  }
  return out;
}
