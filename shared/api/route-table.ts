/**
 * The API's routes as API Gateway declares them, method and resource path, and nothing else:
 * what the CDK construct builds its resources from (infra/constructs/api.ts). Kept apart from
 * the route logic (routes.ts), which reaches the stores and through them the extractors, so a
 * synth or the construct library's types never load the scanner; a test holds the two equal.
 */
export const ROUTE_KEYS = [
  'GET /images/{digest}',
  'GET /images/{digest}/findings',
  'GET /images/{digest}/suppressions',
  'POST /images/{digest}/suppressions',
  'DELETE /images/{digest}/suppressions/{vulnerabilityId}',
  'GET /repositories/{repository}/images',
  'GET /repositories/{repository}/images/{digest}',
  'GET /repositories/{repository}/images/{digest}/findings',
  'GET /repositories/{repository}/findings',
  'GET /repositories/{repository}/tags',
  'GET /repositories/{repository}/tags/{tag}/history',
  'GET /repositories/{repository}/suppressions',
  'POST /repositories/{repository}/suppressions',
  'DELETE /repositories/{repository}/suppressions/{vulnerabilityId}',
  'GET /vulns/{id}/images',
  'GET /suppressions',
  'POST /suppressions',
  'DELETE /suppressions/{vulnerabilityId}',
  'GET /repositories/{repository}/vex',
  'POST /repositories/{repository}/vex',
  'DELETE /repositories/{repository}/vex/{id}',
  'GET /vex',
  'POST /vex',
  'DELETE /vex/{id}',
] as const;

export type RouteMethod = 'GET' | 'POST' | 'DELETE';

/** Each route's method and resource path. */
export function routeDeclarations(): { method: RouteMethod; path: string }[] {
  return ROUTE_KEYS.map((key) => {
    const space = key.indexOf(' ');
    return { method: key.slice(0, space) as RouteMethod, path: key.slice(space + 1) };
  });
}
