/**
 * One socket.io connection per tab (path /socket.io). Authenticated by the session cookie
 * (withCredentials) and, while the server still uses bearer tokens, by the in-memory token in
 * `auth`. Views subscribe to `ticket.event` / `call.event`; `epoch` counts (re)connections so a
 * view refetches its lists after every reconnect (events missed while offline are recovered from
 * the API and merged by version, lib/merge.ts).
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { io, type Socket } from 'socket.io-client';
import { getMemoryToken, sessionEndOf, type SessionEnd } from '../api/client';
import type { CallEventMessage, TicketEventMessage } from '../api/types';

interface ServerToClient {
  'ticket.event': (msg: TicketEventMessage) => void;
  'call.event': (msg: CallEventMessage) => void;
  hello: (msg: { userId: string; role: string; rooms: string[]; expiresAt?: string }) => void;
  /** the server ends the socket of a session that expired, was logged out (any tab) or deactivated */
  'session.ended': (msg: { reason: SessionEnd }) => void;
}
type ClientSocket = Socket<ServerToClient, Record<string, never>>;

type Listener<M> = (msg: M) => void;

interface Realtime {
  connected: boolean;
  /** 1 after the first connection, +1 on every reconnection */
  epoch: number;
  onTicket: (fn: Listener<TicketEventMessage>) => () => void;
  onCall: (fn: Listener<CallEventMessage>) => () => void;
}

const Ctx = createContext<Realtime | null>(null);

export function RealtimeProvider({ children, onAuthFailure }: { children: ReactNode; onAuthFailure: (why: SessionEnd) => void }) {
  const [connected, setConnected] = useState(false);
  const [epoch, setEpoch] = useState(0);
  const ticketListeners = useRef(new Set<Listener<TicketEventMessage>>());
  const callListeners = useRef(new Set<Listener<CallEventMessage>>());
  const authFailure = useRef(onAuthFailure);
  authFailure.current = onAuthFailure;

  useEffect(() => {
    const socket: ClientSocket = io({
      path: '/socket.io',
      withCredentials: true,
      // read at every (re)connection attempt
      auth: (cb) => {
        const token = getMemoryToken();
        cb(token ? { token } : {});
      },
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    socket.on('connect', () => {
      setConnected(true);
      setEpoch((e) => e + 1);
    });
    socket.on('disconnect', (reason) => {
      setConnected(false);
      // socket.io does not retry after a server-side disconnect (e.g. an instance shedding its
      // sockets); try again: a live session reconnects, an ended one gets UNAUTHENTICATED.
      if (reason === 'io server disconnect') window.setTimeout(() => socket.connect(), 1000);
    });
    socket.on('connect_error', (err: Error & { data?: { code?: string; reason?: string } }) => {
      setConnected(false);
      // A refused handshake is not retried by socket.io: the session is gone.
      if (err.data?.code === 'UNAUTHENTICATED') authFailure.current(sessionEndOf(err.data.reason));
    });
    // Logged out in another tab, expired, or deactivated: no reconnect, back to the login page.
    socket.on('session.ended', (m) => {
      socket.disconnect();
      authFailure.current(m.reason);
    });
    socket.on('ticket.event', (m) => ticketListeners.current.forEach((fn) => fn(m)));
    socket.on('call.event', (m) => callListeners.current.forEach((fn) => fn(m)));
    return () => {
      socket.removeAllListeners();
      socket.disconnect();
    };
  }, []);

  const onTicket = useCallback((fn: Listener<TicketEventMessage>) => {
    ticketListeners.current.add(fn);
    return () => {
      ticketListeners.current.delete(fn);
    };
  }, []);
  const onCall = useCallback((fn: Listener<CallEventMessage>) => {
    callListeners.current.add(fn);
    return () => {
      callListeners.current.delete(fn);
    };
  }, []);
  const value = useMemo<Realtime>(() => ({ connected, epoch, onTicket, onCall }), [connected, epoch, onTicket, onCall]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useRealtime(): Realtime {
  const v = useContext(Ctx);
  if (!v) throw new Error('useRealtime outside RealtimeProvider');
  return v;
}

/** Subscribe to ticket events for the component's lifetime (latest handler, one subscription). */
export function useTicketEvents(fn: Listener<TicketEventMessage>): void {
  const { onTicket } = useRealtime();
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => onTicket((m) => ref.current(m)), [onTicket]);
}

export function useCallEvents(fn: Listener<CallEventMessage>): void {
  const { onCall } = useRealtime();
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => onCall((m) => ref.current(m)), [onCall]);
}
