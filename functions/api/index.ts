/**
 * The read API's function (docs/api.md): API Gateway REST proxy events, every route IAM
 * authorised before it gets here. It maps the event to a request (the caller's IAM ARN from
 * `requestContext.identity.userArn`) and answers through shared/api's route table.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { API_CONFIG, apiDeps } from '../../shared/api/aws.js';
import { handleApiRequest } from '../../shared/api/dispatch.js';
import { loadConfig } from '../../shared/config/env.js';
import { logger } from '../../shared/observability.js';

const deps = apiDeps(loadConfig(API_CONFIG));

async function handle(
  event: APIGatewayProxyEvent,
  context: Context,
): Promise<APIGatewayProxyResult> {
  const body =
    event.body !== null && event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : event.body;
  const userArn = event.requestContext.identity.userArn;
  const response = await handleApiRequest(
    {
      method: event.httpMethod,
      resource: event.resource,
      pathParameters: event.pathParameters,
      query: event.queryStringParameters,
      body,
      ...(userArn === null || userArn === undefined ? {} : { principal: userArn }),
    },
    deps,
    (error) =>
      logger.error('api request failed', {
        error,
        resource: event.resource,
        method: event.httpMethod,
      }),
    context.awsRequestId,
  );
  logger.info('api request', {
    resource: event.resource,
    method: event.httpMethod,
    status: response.statusCode,
  });
  return { ...response, headers: { ...response.headers } };
}

export const handler = middy(handle).use(injectLambdaContext(logger));
