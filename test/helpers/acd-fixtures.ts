/** ACD test data shared by the pure-core and Redis-store tests: an agent and a queue entry. */
import { PRIORITY, type AgentStatus, type QueueEntry } from '../../server/src/calls/acd.js';

export const T0 = Date.UTC(2026, 10, 25, 9, 0, 0);

export const agent = (agentId: string, o: Partial<AgentStatus> = {}): AgentStatus => ({
  agentId,
  state: 'available',
  since: T0,
  skills: [],
  group: 'main',
  offer: null,
  callId: null,
  ...o,
});

export const entry = (callId: string, o: Partial<QueueEntry> = {}): QueueEntry => ({
  callId,
  line: 'main',
  callerNumber: '13800000000',
  enqueuedAt: T0,
  priority: PRIORITY.normal,
  requiredSkills: [],
  group: 'main',
  overflowedFrom: [],
  ...o,
});
