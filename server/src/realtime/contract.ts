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

export interface ServerToClient {
  'ticket.event': (msg: TicketEventMessage) => void;
  hello: (msg: { userId: string; role: string; rooms: string[] }) => void;
}

export interface ClientToServer {
  ping: (ack: (t: number) => void) => void;
}

export interface SocketData {
  userId: string;
  role: string;
  departmentId: string | null;
}
