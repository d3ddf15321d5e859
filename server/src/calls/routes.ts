/**
 * Agent state, the ACD queue, callback tasks and call records over HTTP (issue 4 items 3 and 7).
 * Agents and window clerks set their own state through the pure rules of acd.ts; a supervisor
 * may force any state. Department users have no business with the hotline's calls: 403.
 */
import type { Model } from 'mongoose';
import { z } from 'zod';
import { HOTLINE_ROLES } from '../auth/policies.js';
import type { UserDoc } from '../directory/model.js';
import { userParams } from '../directory/schema.js';
import { notFound } from '../errors.js';
import type { ApiRouter } from '../http/router.js';
import { AGENT_STATES } from './acd.js';
import { presentTask } from './callbacks.js';
import { presentAgent, type CallEngine } from './engine.js';
import { presentCall, type CallDoc } from './model.js';
import type { SipCredentials } from './sip-credentials.js';
import { ticketIdParams } from '../tickets/schema.js';
import type { Actor } from '../tickets/types.js';

/** States an agent may ask for; `on_call` only comes from telephony (answered). */
const OWN_STATES = ['logged_out', 'available', 'break', 'wrap_up'] as const;
const ownStateBody = z.object({ state: z.enum(OWN_STATES) });
const forceStateBody = z.object({ state: z.enum(AGENT_STATES) });
/** Telephony call ids (SIP Call-ID): printable ASCII without '/', at most 256 characters. */
const callParams = z.object({ id: z.string().regex(/^[!-.0-~]{1,256}$/, 'must be a call id') });

const CONSOLE_ROLES = ['agent', 'window'] as const;
/** Roles that take calls: the only users a supervisor may set a state for. */
const TAKES_CALLS = new Set<string>(CONSOLE_ROLES);

const profileBody = z.object({
  group: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be a group name'),
  skills: z.array(z.string().min(1).max(32)).max(20).default([]),
});
const transferBody = z.object({ target: z.string().regex(/^[0-9A-Za-z_-]{1,32}$/, 'must be a transfer target key such as 110') });
const sipPasswordBody = z.object({ password: z.string().min(8, 'at least 8 characters').max(128) });

export interface CallRouteDeps {
  engine: CallEngine;
  User: Model<UserDoc>;
  sipCredentials: SipCredentials;
  /** the call ids of a ticket the actor may see (404 otherwise) */
  ticketCallIds: (ticketId: string, actor: Actor) => Promise<string[]>;
}

export function callRoutes(api: ApiRouter, deps: CallRouteDeps): void {
  const { engine, User, sipCredentials } = deps;

  api.add({
    method: 'get',
    path: '/tickets/:id/calls',
    tag: 'calls',
    summary: 'The call records a ticket was filed from, with any transfer (who, when, target, outcome)',
    roles: HOTLINE_ROLES,
    params: ticketIdParams,
    async handler({ actor, params }) {
      const ids = await deps.ticketCallIds(params.id, actor);
      const found = await Promise.all(ids.map((id) => engine.records.get(id))); // live copy first, else MongoDB
      return { items: found.filter((c): c is CallDoc => c !== null).map(presentCall) };
    },
  });

  api.add({
    method: 'post',
    path: '/calls/:id/transfer',
    tag: 'calls',
    summary: 'One-click transfer of the live call (转110, 119, 120, 122); the outcome arrives as a `call.event` of type `call.transfer`',
    roles: ['agent', 'window', 'supervisor'],
    params: callParams,
    body: transferBody,
    status: 202,
    async handler({ actor, params, body }) {
      const t = await engine.requestTransfer(params.id, body.target, actor);
      return { callId: params.id, target: t.target, targetName: t.targetName, by: t.by, requestedAt: t.requestedAt.toISOString(), outcome: t.outcome };
    },
  });

  api.add({
    method: 'get',
    path: '/calls/transfer-targets',
    tag: 'calls',
    summary: 'The configured one-click transfer targets',
    roles: HOTLINE_ROLES,
    async handler() {
      return { items: engine.transferTargets };
    },
  });

  api.add({
    method: 'put',
    path: '/agents/:id/profile',
    tag: 'calls',
    summary: "Set an agent's group (坐席组) and skills for the ACD (supervisor)",
    roles: ['supervisor'],
    params: userParams,
    body: profileBody,
    async handler({ params, body }) {
      const user = await User.findById(params.id, { role: 1 }).lean<Pick<UserDoc, 'role'>>();
      if (!user || !TAKES_CALLS.has(user.role)) throw notFound('agent');
      return presentAgent(await engine.setProfile(params.id, body));
    },
  });

  api.add({
    method: 'put',
    path: '/agents/:id/sip-password',
    tag: 'calls',
    summary: "Set the SIP password of an agent's phone (only its digest HA1 is stored)",
    roles: ['admin', 'supervisor'],
    params: userParams,
    body: sipPasswordBody,
    async handler({ params, body }) {
      const user = await User.findById(params.id, { role: 1 }).lean<Pick<UserDoc, 'role'>>();
      if (!user || !TAKES_CALLS.has(user.role)) throw notFound('agent');
      await sipCredentials.setPassword(params.id, body.password);
      return { agentId: params.id, realm: sipCredentials.realm, updated: true };
    },
  });

  api.add({
    method: 'get',
    path: '/agents/me',
    tag: 'calls',
    summary: "The caller's own ACD agent state (created logged out on first use)",
    roles: CONSOLE_ROLES,
    async handler({ actor }) {
      return presentAgent(await engine.ensureAgent(actor.id));
    },
  });

  api.add({
    method: 'post',
    path: '/agents/me/state',
    tag: 'calls',
    summary: 'Set your own agent state (available, break, wrap_up, logged_out)',
    roles: CONSOLE_ROLES,
    body: ownStateBody,
    async handler({ actor, body }) {
      return presentAgent(await engine.changeState(actor.id, body.state, 'agent'));
    },
  });

  api.add({
    method: 'post',
    path: '/agents/:id/state',
    tag: 'calls',
    summary: "Force an agent's state (supervisor, 班长)",
    roles: ['supervisor'],
    params: userParams,
    body: forceStateBody,
    async handler({ params, body }) {
      const user = await User.findById(params.id, { role: 1 }).lean<Pick<UserDoc, 'role'>>();
      if (!user || !TAKES_CALLS.has(user.role)) throw notFound('agent');
      return presentAgent(await engine.changeState(params.id, body.state, 'supervisor'));
    },
  });

  api.add({
    method: 'get',
    path: '/acd/queue',
    tag: 'calls',
    summary: 'Calls waiting in the ACD queue, in order, with their position',
    roles: ['agent', 'supervisor'],
    async handler() {
      return { items: await engine.queueView() };
    },
  });

  api.add({
    method: 'get',
    path: '/callbacks',
    tag: 'calls',
    summary: 'Callback tasks (未接回拨): abandoned calls and calls that waited too long, oldest first',
    roles: HOTLINE_ROLES,
    async handler() {
      return { items: (await engine.acd.callbacks()).map(presentTask) };
    },
  });

  api.add({
    method: 'get',
    path: '/calls/:id',
    tag: 'calls',
    summary: 'A call record (CDR)',
    roles: HOTLINE_ROLES,
    params: callParams,
    async handler({ params }) {
      const c = await engine.records.get(params.id);
      if (!c) throw notFound('call');
      // while it waits, the phone it rings on lives in the ACD (Redis), not yet in the record
      const live = c.outcome === 'queued' ? await engine.liveOffer(c._id) : null;
      return presentCall(live ? { ...c, agentId: live.agentId, ringingAt: live.ringingAt } : c);
    },
  });
}
