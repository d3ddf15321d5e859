/**
 * Merge-by-version store for live ticket lists (issue #5 item 6: after a reconnect the console
 * refetches and merges — no missed tickets, no duplicates). Pure: no DOM, no fetch.
 *
 * - Every ticket is keyed by id; a copy with a higher `version` replaces a lower one, an equal or
 *   lower one is ignored, so a stale list response can never roll a ticket back.
 * - A ticket that left the user's view (404 after it was re-dispatched elsewhere) leaves a
 *   tombstone at the version seen; only a strictly newer copy brings it back.
 * - Socket events only carry the new version: `needsFetch` says whether the event is news.
 * - Events are at-least-once (server outbox): `seenEvents` drops the duplicates by eventId.
 */
export interface Versioned {
  id: string;
  version: number;
}

export interface LiveState<T extends Versioned> {
  byId: Readonly<Record<string, T>>;
  /** id → the version at which it was removed from the view */
  gone: Readonly<Record<string, number>>;
}

export type LiveAction<T extends Versioned> =
  | { type: 'merge'; items: readonly T[] }
  | { type: 'remove'; id: string; version: number }
  | { type: 'reset' };

export function emptyLive<T extends Versioned>(): LiveState<T> {
  return { byId: {}, gone: {} };
}

/** The newer of two copies of one ticket (the current one on a tie). */
export function newer<T extends Versioned>(current: T | undefined, incoming: T): T {
  return current && current.version >= incoming.version ? current : incoming;
}

export function liveReducer<T extends Versioned>(state: LiveState<T>, action: LiveAction<T>): LiveState<T> {
  switch (action.type) {
    case 'reset':
      return emptyLive<T>();
    case 'merge': {
      let byId: Record<string, T> | null = null;
      let gone: Record<string, number> | null = null;
      for (const item of action.items) {
        const tomb = (gone ?? state.gone)[item.id];
        if (tomb !== undefined && item.version <= tomb) continue;
        const cur = (byId ?? state.byId)[item.id];
        if (cur && cur.version >= item.version) continue;
        byId ??= { ...state.byId };
        byId[item.id] = item;
        if (tomb !== undefined) {
          gone ??= { ...state.gone };
          delete gone[item.id];
        }
      }
      return byId || gone ? { byId: byId ?? state.byId, gone: gone ?? state.gone } : state;
    }
    case 'remove': {
      const cur = state.byId[action.id];
      if (cur && cur.version > action.version) return state;
      const { [action.id]: _dropped, ...rest } = state.byId;
      const tomb = Math.max(action.version, state.gone[action.id] ?? 0);
      return { byId: rest, gone: { ...state.gone, [action.id]: tomb } };
    }
    default:
      return state;
  }
}

/** Whether an event announces a version this console has not got yet. */
export function needsFetch<T extends Versioned>(state: LiveState<T>, ev: { ticketId: string; version: number }): boolean {
  const cur = state.byId[ev.ticketId];
  if (cur) return ev.version > cur.version;
  const tomb = state.gone[ev.ticketId];
  return tomb === undefined || ev.version > tomb;
}

/** Items sorted for display: a stable order independent of arrival order. */
export function sortedItems<T extends Versioned>(state: LiveState<T>, compare: (a: T, b: T) => number): T[] {
  return Object.values(state.byId).sort(compare);
}

/** A bounded memory of event ids (at-least-once delivery: each event is handled once). */
export class SeenEvents {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity = 2000) {}

  /** true the first time an id is offered, false afterwards */
  first(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return true;
  }
}
