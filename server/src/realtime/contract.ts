/**
 * The typed socket contract shared with the console (socket.io typed events).
 * Rooms: `agent:<userId>` (each user), `dept:<departmentId>`, `hotline` (agents and window
 * clerks), `supervisors`.
 */
export interface TicketEventMessage {
  eventId: string;
  type: string;
  ticketId: string;
  number: string;
  version: number;
  state: string;
  leadDepartmentId: string | null;
  at: string;
  data: Record<string, unknown>;
}

/**
 * Calls and the ACD (server/src/calls/engine.ts): `call.answered` (the caller card, to the agent
 * who answered), `call.ended`, `call.transfer` (outcome of 转110…), `agent.state`, `acd.changed`.
 */
export interface CallEventMessage {
  type: string;
  at: string;
  data: Record<string, unknown>;
}

/** The caller card popped on the agent's console when a call is answered (`call.answered`, issue 4 item 5). */
export interface CallerCard {
  callId: string;
  fromNumber: string;
  displayName: string;
  line: string;
  lineName: string;
  elderly: boolean;
  repeatCaller: boolean;
  fromGateway: string | null;
  gatewayReference: string | null;
  earlierTickets: { id: string; number: string; state: string; category: string; createdAt: string; summary: string }[];
  answeredAt: string;
}

export interface ServerToClient {
  'ticket.event': (msg: TicketEventMessage) => void;
  'call.event': (msg: CallEventMessage) => void;
  /** After the handshake: who you are, your rooms, and when your session expires. */
  hello: (msg: { userId: string; role: string; rooms: string[]; expiresAt: string }) => void;
  /**
   * Sent just before the server disconnects a socket whose session ended: `expired` (token
   * lifetime over), `revoked` (logged out, in this or another tab), `deactivated` (account
   * switched off). The client should not reconnect but show the login page.
   */
  'session.ended': (msg: SessionEndedMessage) => void;
}

export interface SessionEndedMessage {
  reason: 'expired' | 'revoked' | 'deactivated';
}

export interface ClientToServer {
  ping: (ack: (t: number) => void) => void;
}

export interface SocketData {
  userId: string;
  role: string;
  departmentId: string | null;
  /** the session's token id (room `session:<tokenId>`) and expiry (ms) */
  tokenId: string;
  expiresAt: number;
}
