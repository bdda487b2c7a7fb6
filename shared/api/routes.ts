/**
 * Every route of the read API with what it runs: the handler dispatches on them; the CDK
 * construct creates the resources and methods route-table.ts declares, and tests hold this
 * table, that one and docs/openapi.json to the same list. Paths are API Gateway resource paths.
 *
 * Routes under `/repositories/{repository}` concern one repository only, so that an IAM policy
 * on `…/repositories/<host>%2Fteam-a%2F*` grants one team its repositories and nothing else
 * (docs/api.md). The others read across repositories and are for security teams.
 */
import type * as z from 'zod';
import type { ApiDeps } from './deps.js';
import { imageFindings, repositoryFindings, vulnerabilityImages } from './findings.js';
import {
  imageOr404,
  imageView,
  inRepositoryOr404,
  repositoryImages,
  repositoryTags,
  tagHistory,
} from './images.js';
import {
  decodePathParam,
  deleteSuppressionQuery,
  digestParam,
  findingsQuery,
  pageQuery,
  parseWith,
  repositoryParam,
  suppressionBody,
  tagParam,
  vexIdParam,
  vexPutQuery,
  vulnerabilityIdParam,
} from './params.js';
import type { RouteMethod } from './route-table.js';
import {
  deleteSuppression,
  listSuppressions,
  putSuppression,
  type SuppressionScope,
} from './suppressions.js';
import { deleteVex, listVex, putVex, type VexScope } from './vex.js';

/** A REST API request as the handler hands it over (from API Gateway's proxy event). */
export interface ApiRequest {
  readonly method: string;
  /** The resource path API Gateway matched: `/images/{digest}`. */
  readonly resource: string;
  readonly pathParameters: Readonly<Record<string, string | undefined>> | null;
  readonly query: Readonly<Record<string, string | undefined>> | null;
  readonly body: string | null;
  /** The caller's IAM ARN (`requestContext.identity.userArn`). */
  readonly principal?: string;
}

export interface RouteResult {
  readonly status: 200 | 201 | 204;
  readonly body?: unknown;
}

export interface Route {
  readonly method: RouteMethod;
  readonly path: string;
  run(deps: ApiDeps, request: ApiRequest): Promise<RouteResult>;
}

const path = (request: ApiRequest, name: string, schema: z.ZodType<string>): string =>
  parseWith(
    schema,
    decodePathParam(request.pathParameters?.[name] ?? ''),
    `path.${name}`,
  ) as string;
const query = <T extends z.ZodType>(request: ApiRequest, schema: T) =>
  parseWith(
    schema,
    Object.fromEntries(Object.entries(request.query ?? {}).filter(([, v]) => v !== undefined)),
    'query',
  );
const body = <T extends z.ZodType>(request: ApiRequest, schema: T) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body ?? '');
  } catch {
    parsed = Symbol('not JSON');
  }
  return parseWith(schema, parsed, 'body');
};
const ok = (value: unknown): RouteResult => ({ status: 200, body: value });

const repo = (r: ApiRequest) => path(r, 'repository', repositoryParam);
const digest = (r: ApiRequest) => path(r, 'digest', digestParam);

function findingsRun(r: ApiRequest) {
  const { limit, cursor, ...filters } = query(r, findingsQuery);
  return { limit, cursor, filters };
}

function suppressionRoutes(
  base: string,
  scopeOf: (deps: ApiDeps, r: ApiRequest) => Promise<SuppressionScope>,
): Route[] {
  return [
    {
      method: 'GET',
      path: `${base}/suppressions`,
      run: async (deps, r) => {
        const { limit, cursor } = query(r, pageQuery);
        return ok(await listSuppressions(deps, await scopeOf(deps, r), limit, cursor));
      },
    },
    {
      method: 'POST',
      path: `${base}/suppressions`,
      run: async (deps, r) => {
        const input = body(r, suppressionBody);
        return {
          status: 201,
          body: await putSuppression(deps, await scopeOf(deps, r), input, r.principal),
        };
      },
    },
    {
      method: 'DELETE',
      path: `${base}/suppressions/{vulnerabilityId}`,
      run: async (deps, r) => {
        const id = path(r, 'vulnerabilityId', vulnerabilityIdParam);
        const { packageKey } = query(r, deleteSuppressionQuery);
        await deleteSuppression(deps, await scopeOf(deps, r), id, packageKey);
        return { status: 204 };
      },
    },
  ];
}

/** VEX documents of a scope: the document itself is the body of a POST (docs/vex.md). */
function vexRoutes(base: string, scopeOf: (r: ApiRequest) => VexScope): Route[] {
  return [
    {
      method: 'GET',
      path: `${base}/vex`,
      run: async (deps, r) => {
        const { limit, cursor } = query(r, pageQuery);
        return ok(await listVex(deps, scopeOf(r), limit, cursor));
      },
    },
    {
      method: 'POST',
      path: `${base}/vex`,
      run: async (deps, r) => {
        const { expiresAt } = query(r, vexPutQuery);
        return {
          status: 201,
          body: await putVex(deps, scopeOf(r), r.body ?? '', expiresAt, r.principal),
        };
      },
    },
    {
      method: 'DELETE',
      path: `${base}/vex/{id}`,
      run: async (deps, r) => {
        const rescans = await deleteVex(deps, scopeOf(r), path(r, 'id', vexIdParam));
        return ok({ deleted: true, rescans });
      },
    },
  ];
}

export const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/images/{digest}',
    run: async (deps, r) => ok(await imageView(deps, digest(r))),
  },
  {
    method: 'GET',
    path: '/images/{digest}/findings',
    run: async (deps, r) => {
      const d = digest(r);
      const { limit, cursor, filters } = findingsRun(r);
      await imageOr404(deps, d);
      return ok(await imageFindings(deps, d, filters, limit, cursor));
    },
  },
  ...suppressionRoutes('/images/{digest}', async (_deps, r) => ({
    kind: 'digest',
    digest: digest(r),
  })),
  {
    method: 'GET',
    path: '/repositories/{repository}/images',
    run: async (deps, r) => {
      const { limit, cursor } = query(r, pageQuery);
      return ok(await repositoryImages(deps, repo(r), limit, cursor));
    },
  },
  {
    method: 'GET',
    path: '/repositories/{repository}/images/{digest}',
    run: async (deps, r) => {
      const [rp, d] = [repo(r), digest(r)];
      await inRepositoryOr404(deps, rp, d);
      return ok(await imageView(deps, d, rp));
    },
  },
  {
    method: 'GET',
    path: '/repositories/{repository}/images/{digest}/findings',
    run: async (deps, r) => {
      const [rp, d] = [repo(r), digest(r)];
      const { limit, cursor, filters } = findingsRun(r);
      await inRepositoryOr404(deps, rp, d);
      return ok(await imageFindings(deps, d, filters, limit, cursor));
    },
  },
  {
    method: 'GET',
    path: '/repositories/{repository}/findings',
    run: async (deps, r) => {
      const rp = repo(r);
      const { limit, cursor, filters } = findingsRun(r);
      return ok(await repositoryFindings(deps, rp, filters, limit, cursor));
    },
  },
  {
    method: 'GET',
    path: '/repositories/{repository}/tags',
    run: async (deps, r) => {
      const { limit, cursor } = query(r, pageQuery);
      return ok(await repositoryTags(deps, repo(r), limit, cursor));
    },
  },
  {
    method: 'GET',
    path: '/repositories/{repository}/tags/{tag}/history',
    run: async (deps, r) => ok(await tagHistory(deps, repo(r), path(r, 'tag', tagParam))),
  },
  ...suppressionRoutes('/repositories/{repository}', async (_deps, r) => ({
    kind: 'repository',
    repository: repo(r),
  })),
  {
    method: 'GET',
    path: '/vulns/{id}/images',
    run: async (deps, r) => {
      const id = path(r, 'id', vulnerabilityIdParam);
      const { limit, cursor } = query(r, pageQuery);
      return ok(await vulnerabilityImages(deps, id, limit, cursor));
    },
  },
  ...suppressionRoutes('', async () => ({ kind: 'global' })),
  ...vexRoutes('/repositories/{repository}', (r) => ({ kind: 'repository', repository: repo(r) })),
  ...vexRoutes('', () => ({ kind: 'global' })),
];
