import { describe, expect, it } from 'vitest';
import { ROUTE_KEYS } from '../../../shared/api/route-table.js';
import { ROUTES } from '../../../shared/api/routes.js';

describe('the route table the construct builds from', () => {
  it('declares exactly the routes the handler serves, once each', () => {
    expect([...ROUTE_KEYS].sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    expect(new Set(ROUTE_KEYS).size).toBe(ROUTE_KEYS.length);
  });
});
