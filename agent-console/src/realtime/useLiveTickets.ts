/**
 * A live ticket list: the API's answer merged with socket events by version (lib/merge.ts).
 * - on mount and after every socket (re)connection: refetch the list and merge;
 * - on `ticket.event` with a newer version: fetch that ticket and merge (404 → it left the view);
 * - duplicate event deliveries are dropped by eventId.
 * A second tab of the same user gets the same events and converges the same way.
 */
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { Ticket, TicketEventMessage, TicketList, TicketSummary } from '../api/types';
import { emptyLive, liveReducer, needsFetch, SeenEvents, sortedItems, type LiveState } from '../lib/merge';
import { useRealtime, useTicketEvents } from './RealtimeProvider';

export interface LiveTicketsOptions {
  query: Record<string, string | number | undefined>;
  /** which tickets belong in this list (a ticket whose state moved on drops out of view) */
  keep?: (t: TicketSummary) => boolean;
  /** which events concern this list (`listed`: the ticket is in it now); default all */
  accept?: (ev: TicketEventMessage, listed: boolean) => boolean;
  onArrival?: (t: TicketSummary, ev: TicketEventMessage) => void;
}

const byNewest = (a: TicketSummary, b: TicketSummary): number => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1);

export function useLiveTickets(opts: LiveTicketsOptions) {
  const [state, dispatch] = useReducer(liveReducer<TicketSummary>, undefined, () => emptyLive<TicketSummary>());
  const stateRef = useRef<LiveState<TicketSummary>>(state);
  stateRef.current = state;
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const seen = useRef(new SeenEvents());
  const inFlight = useRef(new Map<string, number>());
  const optsRef = useRef(opts);
  optsRef.current = opts;
  const { epoch } = useRealtime();
  const queryKey = JSON.stringify(opts.query);

  const refetch = useCallback(async () => {
    setLoading(true);
    try {
      const r = await api<TicketList>('/tickets', { query: JSON.parse(queryKey) as Record<string, string> });
      dispatch({ type: 'merge', items: r.items });
      setTotal(r.total);
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setLoading(false);
    }
  }, [queryKey]);

  // A different query is a different list.
  useEffect(() => {
    dispatch({ type: 'reset' });
  }, [queryKey]);

  // Initial load, and the resynchronisation after each reconnect.
  useEffect(() => {
    void refetch();
  }, [refetch, epoch]);

  const fetchOne = useCallback(async (ev: TicketEventMessage) => {
    const pending = inFlight.current.get(ev.ticketId);
    if (pending !== undefined && pending >= ev.version) return;
    inFlight.current.set(ev.ticketId, ev.version);
    try {
      const t = await api<Ticket>(`/tickets/${ev.ticketId}`);
      dispatch({ type: 'merge', items: [t] });
      optsRef.current.onArrival?.(t, ev);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 403)) dispatch({ type: 'remove', id: ev.ticketId, version: ev.version });
    } finally {
      if (inFlight.current.get(ev.ticketId) === ev.version) inFlight.current.delete(ev.ticketId);
    }
  }, []);

  useTicketEvents((ev) => {
    if (!seen.current.first(ev.eventId)) return;
    if (optsRef.current.accept && !optsRef.current.accept(ev, ev.ticketId in stateRef.current.byId)) return;
    if (needsFetch(stateRef.current, ev)) void fetchOne(ev);
  });

  const upsert = useCallback((t: TicketSummary) => dispatch({ type: 'merge', items: [t] }), []);
  const keep = opts.keep;
  const items = sortedItems(state, byNewest).filter((t) => !keep || keep(t));
  return { items, loading, error, total, refetch, upsert };
}
