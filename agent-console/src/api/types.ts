/** The shapes the console reads from the API (server presenters; only what the UI uses). */
/** The socket messages and the caller card: the server's typed contract, not a copy. */
export type { CallerCard, CallEventMessage, TicketEventMessage } from '../../../server/src/realtime/contract';
export type Role = 'agent' | 'window' | 'department' | 'supervisor' | 'admin';
export const CATEGORIES = ['consultation', 'help', 'complaint', 'report', 'suggestion', 'praise'] as const;
export type Category = (typeof CATEGORIES)[number];
export const URGENCIES = ['normal', 'urgent', 'critical'] as const;
export type Urgency = (typeof URGENCIES)[number];
export const TICKET_STATES = ['received', 'dispatched', 'handling', 'returned', 'replied', 'visiting', 'disputed', 'closed', 'merged'] as const;
export type TicketState = (typeof TICKET_STATES)[number];
export const MILESTONES = ['sign', 'contact', 'reply', 'review', 'visit', 'verify', 'rectify'] as const;
export type MilestoneKey = (typeof MILESTONES)[number];
export const RATING_LEVELS = ['very_satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied', 'very_dissatisfied'] as const;
export type RatingLevel = (typeof RATING_LEVELS)[number];
export const AGENT_STATES = ['logged_out', 'available', 'ringing', 'on_call', 'wrap_up', 'break'] as const;
export type AgentState = (typeof AGENT_STATES)[number] | (string & {});

export interface User {
  id: string;
  username: string;
  name: string;
  role: Role;
  departmentId: string | null;
  active?: boolean;
}

export interface LoginResponse {
  user: User;
  expiresAt: string;
  /** only while the server still answers with a bearer token (pre-cookie) */
  token?: string;
}

export interface Department {
  id: string;
  name: string;
  nameEn: string;
  level: 'city' | 'district' | 'street';
  kind: string;
  parentId: string | null;
  districtId: string | null;
  streetId: string | null;
  active: boolean;
}

export interface ActorRef {
  id: string;
  name: string;
  role: string;
  departmentId: string | null;
}

export interface Milestone {
  unit: string;
  startedAt: string;
  dueAt: string;
  warnAt: string;
  doneAt: string | null;
  cancelledAt: string | null;
  version: number;
  level: string;
  reminders: number;
  escalations: number;
}

export interface Rating {
  level: RatingLevel;
  round: number;
  realName: boolean;
  comment: string | null;
  at: string;
  by: ActorRef;
  source: string;
}

export interface TicketSummary {
  id: string;
  number: string;
  state: TicketState;
  version: number;
  round: number;
  channel: string;
  category: Category;
  urgency: Urgency;
  area: { districtId: string | null; streetId: string | null };
  title: string | null;
  address: string;
  caller: { name: string | null; phone: string; anonymous: boolean };
  confidential: boolean;
  enterprise: boolean;
  elderly: boolean;
  leadDepartmentId: string | null;
  coDepartmentIds: string[];
  deadlines: Partial<Record<MilestoneKey, Milestone>>;
  nextDueAt: string | null;
  deadlineState: 'on_time' | 'warning' | 'overdue' | 'paused' | null;
  pendingExtension: { days: number; reason: string; requestedAt: string; by: ActorRef } | null;
  urgeCount: number;
  supervised: boolean;
  flaggedRepeatedFailure: boolean;
  rating: Rating | null;
  createdAt: string;
  updatedAt: string;
  /** list items only have the summary; the full ticket adds the rest */
  content?: string;
}

export interface TimelineEntry {
  seq: number;
  at: string;
  actor: ActorRef;
  action: string;
  from: TicketState | null;
  to: TicketState;
  note: string | null;
  data: Record<string, unknown> | null;
}

export interface Ticket extends TicketSummary {
  content: string;
  callIds: string[];
  externalRef: string | null;
  returnReason: string | null;
  extendedDays: number;
  suspension: { requested: unknown; since: string | null; reason: string | null } | null;
  escalatedTo: string[];
  reply: { text: string; at: string; by: ActorRef } | null;
  directAnswer: { text: string; knowledgeArticleId: string | null; at: string; by: ActorRef } | null;
  ratings: Rating[];
  redoCount: number;
  mergedInto: string | null;
  closure: { kind: string; reason: string | null; at: string } | null;
  createdBy: ActorRef | null;
  timeline: TimelineEntry[];
  availableCommands: string[];
  duplicates?: { id: string; number: string }[];
}

export interface TicketList {
  items: TicketSummary[];
  total: number;
  page: number;
  pageSize: number;
}

export interface MilestoneView {
  milestone: MilestoneKey;
  unit: string;
  startedAt: string;
  warnAt: string;
  dueAt: string;
  doneAt: string | null;
  state: 'met' | 'cancelled' | 'paused' | 'on_time' | 'warning' | 'overdue';
  remainingMs: number | null;
  metLate: boolean | null;
  reminders: number;
  escalations: number;
}

export interface DeadlinesView {
  ticketId: string;
  number: string;
  policyVersion: number;
  suspendedSince: string | null;
  escalatedTo: string[];
  milestones: MilestoneView[];
}

export interface AgentStatus {
  agentId: string;
  state: AgentState;
  since: string;
  group: string;
  skills: string[];
  offer: { callId: string; at: string } | null;
  callId: string | null;
}

export interface TransferOutcome {
  callId: string;
  target: string;
  targetName: string;
  outcome: 'pending' | 'connected' | 'failed' | (string & {});
  reason: string | null;
  by: string;
  at: string | null;
}

export interface QueueEntry {
  callId: string;
  line: string;
  callerNumber: string;
  priority: number;
  group: string;
  position: number;
  enqueuedAt: string;
  waitedSeconds: number;
}

export interface CallbackTask {
  id: string;
  callId: string;
  callerNumber: string;
  line: string;
  reason: string;
  enqueuedAt: string;
  leftAt: string;
  createdAt: string;
  [k: string]: unknown;
}

export interface KnowledgeArticle {
  id: string;
  title: string;
  body: string;
  categories: Category[];
  tags: string[];
  score?: number;
}

export interface RoutingSuggestion {
  suggestion: { departmentId: string; reason: 'rule' | 'area_owner' | 'city_default'; ruleId: string | null } | null;
  alternatives: { id: string; departmentId: string; note?: string | null }[];
}

export interface CallKpis {
  offered: number;
  answered: number;
  answerRate: number | null;
  serviceLevel: number | null;
  abandoned: number;
  abandonRate: number | null;
  averageWaitSeconds: number | null;
  averageTalkSeconds: number | null;
  transfers: { requested: number; connected: number; failed: number; pending: number };
}

export interface CallKpiReport {
  from: string;
  to: string;
  serviceLevelSeconds: number;
  buckets: (CallKpis & { key: string })[];
  total: CallKpis;
}

/** A rate with what it was computed from (rate null when nothing was due). */
export interface Ratio {
  numerator: number;
  denominator: number;
  rate: number | null;
}

/** GET /api/kpis/tickets (server/src/stats/ticket-kpis.ts). */
export interface TicketKpiReport {
  from: string;
  to: string;
  total: {
    timelyDispatch: Ratio;
    onTimeReply: Ratio;
    satisfaction: Ratio;
    rectificationOnTime: Ratio;
    [k: string]: unknown;
  };
}

/** GET /api/stats/deadlines: open tickets in warning / overdue, per lead department. */
export interface DeadlineStats {
  total: { warning: number; overdue: number };
  byDepartment: { departmentId: string | null; warning: number; overdue: number }[];
  items: {
    id: string;
    number: string;
    state: TicketState;
    category: Category;
    urgency: Urgency;
    leadDepartmentId: string | null;
    deadlineState: 'warning' | 'overdue';
    nextDueAt: string | null;
    milestones: { key: MilestoneKey; level: string; dueAt: string }[];
    supervised: boolean;
    urgeCount: number;
    pendingExtension: boolean;
    createdAt: string;
  }[];
}

export interface CallRecord {
  id: string;
  fromNumber?: string;
  line?: string;
  outcome: string;
  offeredAt?: string;
  answeredAt?: string | null;
  endedAt?: string | null;
  answeredBy?: string | null;
  transfer?: TransferOutcome | null;
  [k: string]: unknown;
}

