import type { Deadlines } from '../deadlines/milestones.js';
import type { TicketPolicy } from '../deadlines/policy.js';
import type { Category, Channel, OutOfScopeKind, RatingLevel, Role, TicketState, Urgency } from './vocabulary.js';

/** Who acts. `departmentId` is set for department users (bound to one department). */
export interface Actor {
  id: string;
  name: string;
  role: Role;
  departmentId?: string | null;
}

export interface ActorRef {
  id: string;
  name: string;
  role: Role;
  departmentId: string | null;
}

export interface Area {
  /** District / county code (区县). */
  districtId: string | null;
  /** Township / street code (乡镇街道). */
  streetId: string | null;
}

export interface RatingRecord {
  level: RatingLevel;
  round: number;
  realName: boolean;
  comment: string | null;
  at: Date;
  by: ActorRef;
  /**
   * Where the rating came from: return visit by an agent, the citizen directly (rating link),
   * or the phone keypad (IVR) later.
   */
  /** return_visit: the agent's call; citizen: the rating link; keypad: the IVR; default: none given within the rating window (DEFAULT_RATING) */
  source: 'return_visit' | 'citizen' | 'keypad' | 'default';
}

export interface PendingExtension {
  days: number;
  reason: string;
  requestedAt: Date;
  by: ActorRef;
}

/**
 * The part of a ticket the state machine reads and writes. Everything the machine decides
 * lives here; intake data (caller, content…) is written once at creation.
 */
export interface TicketCore {
  state: TicketState;
  version: number;
  /** Handling round; a redo (重办) or reopen starts a new round. One rating per round. */
  round: number;
  category: Category;
  urgency: Urgency;
  area: Area;
  policy: TicketPolicy;
  /** The caller gave no name: ratings are anonymous unless said otherwise. */
  callerAnonymous: boolean;
  leadDepartmentId: string | null;
  coDepartmentIds: string[];
  /** Departments that ever held the ticket (for history; visibility uses the current ones). */
  dispatchCount: number;
  returnedFrom: 'dispatched' | 'handling' | null;
  returnReason: string | null;
  pendingExtension: PendingExtension | null;
  extendedDays: number;
  /** Milestone clocks (签收, 先行联系, 答复, 审核, 回访, 核实, 整改). */
  deadlines: Deadlines;
  /** Earliest due / warning time of the open milestones; null while suspended or none open. */
  nextDueAt: Date | null;
  nextWarnAt: Date | null;
  /** A department may return the ticket until then. */
  returnUntil: Date | null;
  /** 挂起: a requested pause, and the running one (clocks stopped since `since`). */
  suspension: { requested: { reason: string; at: Date; by: ActorRef } | null; since: Date | null; reason: string | null };
  /** Departments up the hierarchy that overdue supervision escalated to (they may read it). */
  escalatedTo: string[];
  reply: { text: string; at: Date; by: ActorRef } | null;
  directAnswer: { text: string; knowledgeArticleId: string | null; at: Date; by: ActorRef } | null;
  rating: RatingRecord | null;
  ratings: RatingRecord[];
  redoCount: number;
  /** Set when a ticket keeps failing after `policy.redoFlagAfter` redos. */
  flaggedRepeatedFailure: boolean;
  urgeCount: number;
  supervised: boolean;
  mergedInto: string | null;
  closure: { kind: ClosureKind; reason: string | null; at: Date } | null;
}

export type ClosureKind = 'resolved' | 'answered_directly' | 'out_of_scope' | 'rating_invalid' | 'closed_by_hotline';

/** One entry of the append-only timeline (the audit trail). `seq` equals the version it produced. */
export interface TimelineEntry {
  seq: number;
  at: Date;
  actor: ActorRef;
  action: string;
  from: TicketState | null;
  to: TicketState;
  note: string | null;
  data: Record<string, unknown> | null;
}

export const TICKET_EVENT_TYPES = [
  'ticket.created',
  'ticket.classified',
  'ticket.answered_directly',
  'ticket.dispatched',
  'ticket.signed',
  'ticket.returned',
  'ticket.return_reviewed',
  'ticket.extension_requested',
  'ticket.extension_decided',
  'ticket.co_noted',
  'ticket.replied',
  'ticket.reply_reviewed',
  'ticket.visited',
  'ticket.rated',
  'ticket.rating_verified',
  'ticket.contacted',
  'ticket.suspension_requested',
  'ticket.suspension_decided',
  'ticket.resumed',
  'ticket.citizen_info',
  'ticket.deadline_warning',
  'ticket.deadline_overdue',
  'ticket.deadline_reminder',
  'ticket.escalated',
  'ticket.urged',
  'ticket.supervised',
  'ticket.merged',
  'ticket.reopened',
  'ticket.closed',
] as const;
export type TicketEventType = (typeof TICKET_EVENT_TYPES)[number];

/** A side effect to publish after the write (outbox entry). */
export interface DomainEvent {
  type: TicketEventType;
  data: Record<string, unknown>;
}

export interface OutOfScope {
  kind: OutOfScopeKind;
  legalRoute: string;
}

export interface Caller {
  name: string | null;
  phone: string;
  anonymous: boolean;
}

export interface IntakeInput {
  channel: Channel;
  caller: Caller;
  category: Category;
  urgency: Urgency;
  area: Area;
  address: string;
  content: string;
  title?: string | null;
  confidential: boolean;
  enterprise: boolean;
  elderly: boolean;
  callId?: string | null;
  externalRef?: string | null;
  outOfScope?: OutOfScope | null;
}
