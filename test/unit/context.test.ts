// The request context forks its entity manager on first use only, also through the shallow
// copy Apollo Server makes of it for every GraphQL operation (own properties copied onto an
// object of the same prototype: @apollo/server's cloneObject).
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.js';
import type { EntityManager } from '../../src/db/orm.js';
import type { ServiceDeps } from '../../src/services/deps.js';
import type { RequestObservation } from '../../src/observability/request-log.js';

const apolloClone = <T extends object>(o: T): T => Object.assign(Object.create(Object.getPrototypeOf(o)), o);

function context() {
  const forks: EntityManager[] = [];
  const fork = () => {
    const em = { id: forks.length } as unknown as EntityManager;
    forks.push(em);
    return em;
  };
  const ctx = createContext(fork, {} as ServiceDeps, {}, {} as never, {} as RequestObservation, { ip: '127.0.0.1' });
  return { ctx, forks };
}

describe('request context', () => {
  it('forks no entity manager for a request that never uses one, copied or not', () => {
    const { ctx, forks } = context();
    const copy = apolloClone(ctx);
    expect(forks).toHaveLength(0);
    expect(copy.client).toEqual({ ip: '127.0.0.1' });
  });

  it('forks one entity manager, shared by the context and its copies', () => {
    const { ctx, forks } = context();
    const copy = apolloClone(ctx);
    const em = copy.em;
    expect(forks).toEqual([em]);
    expect(ctx.em).toBe(em);
    expect(apolloClone(ctx).em).toBe(em);
    expect(forks).toHaveLength(1);
  });
});
