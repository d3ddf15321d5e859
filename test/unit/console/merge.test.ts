import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyLive, liveReducer, needsFetch, SeenEvents, sortedItems, type LiveState } from '../../../agent-console/src/lib/merge.js';

interface T {
  id: string;
  version: number;
  label?: string;
}
const merge = (s: LiveState<T>, items: T[]) => liveReducer(s, { type: 'merge', items });

describe('console live list: merge by version', () => {
  it('keeps the highest version of each ticket, whatever the arrival order', () => {
    let s = emptyLive<T>();
    s = merge(s, [{ id: 'a', version: 3, label: 'v3' }]);
    s = merge(s, [{ id: 'a', version: 2, label: 'stale list' }]);
    s = merge(s, [{ id: 'a', version: 3, label: 'same version' }]);
    expect(s.byId.a).toEqual({ id: 'a', version: 3, label: 'v3' });
    s = merge(s, [{ id: 'a', version: 4, label: 'v4' }]);
    expect(s.byId.a?.label).toBe('v4');
  });

  it('a refetch after a reconnect adds what was missed and never duplicates', () => {
    let s = merge(emptyLive<T>(), [
      { id: 'a', version: 1 },
      { id: 'b', version: 2 },
    ]);
    // offline: b moved to v3, c arrived; the refetched list has both
    s = merge(s, [
      { id: 'c', version: 1 },
      { id: 'b', version: 3 },
      { id: 'a', version: 1 },
    ]);
    expect(sortedItems(s, (x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'a', version: 1 },
      { id: 'b', version: 3 },
      { id: 'c', version: 1 },
    ]);
  });

  it('returns the same state object when nothing is newer (no re-render)', () => {
    const s = merge(emptyLive<T>(), [{ id: 'a', version: 2 }]);
    expect(merge(s, [{ id: 'a', version: 1 }])).toBe(s);
  });

  it('a removed ticket stays out until a strictly newer version arrives', () => {
    let s = merge(emptyLive<T>(), [{ id: 'a', version: 2 }]);
    s = liveReducer(s, { type: 'remove', id: 'a', version: 3 });
    expect(s.byId.a).toBeUndefined();
    s = merge(s, [{ id: 'a', version: 3 }]); // a stale list response
    expect(s.byId.a).toBeUndefined();
    expect(needsFetch(s, { ticketId: 'a', version: 3 })).toBe(false);
    expect(needsFetch(s, { ticketId: 'a', version: 4 })).toBe(true);
    s = merge(s, [{ id: 'a', version: 4 }]); // re-dispatched back to us
    expect(s.byId.a?.version).toBe(4);
    expect(s.gone.a).toBeUndefined();
  });

  it('a remove older than the copy on screen is ignored', () => {
    const s = merge(emptyLive<T>(), [{ id: 'a', version: 5 }]);
    expect(liveReducer(s, { type: 'remove', id: 'a', version: 4 })).toBe(s);
  });

  it('needsFetch only for news', () => {
    const s = merge(emptyLive<T>(), [{ id: 'a', version: 2 }]);
    expect(needsFetch(s, { ticketId: 'a', version: 2 })).toBe(false);
    expect(needsFetch(s, { ticketId: 'a', version: 3 })).toBe(true);
    expect(needsFetch(s, { ticketId: 'new', version: 1 })).toBe(true);
  });

  it('property: any interleaving of copies converges to the maximum version per id', () => {
    const copy = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd'), version: fc.integer({ min: 1, max: 20 }) });
    fc.assert(
      fc.property(fc.array(fc.array(copy, { maxLength: 6 }), { maxLength: 12 }), (batches) => {
        let s = emptyLive<T>();
        for (const b of batches) s = merge(s, b);
        const expected = new Map<string, number>();
        for (const c of batches.flat()) expected.set(c.id, Math.max(expected.get(c.id) ?? 0, c.version));
        expect(Object.keys(s.byId).sort()).toEqual([...expected.keys()].sort());
        for (const [id, v] of expected) expect(s.byId[id]?.version).toBe(v);
      }),
    );
  });

  it('SeenEvents drops redelivered events and stays bounded', () => {
    const seen = new SeenEvents(3);
    expect(seen.first('e1')).toBe(true);
    expect(seen.first('e1')).toBe(false);
    for (const id of ['e2', 'e3', 'e4']) seen.first(id);
    expect(seen.first('e1')).toBe(true); // evicted as the oldest
  });
});
