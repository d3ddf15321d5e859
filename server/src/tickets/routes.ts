import { HOTLINE_ROLES, ALL_ROLES } from '../auth/policies.js';
import type { ApiRouter } from '../http/router.js';
import { commandSchemas, COMMAND_TYPES, type Command, type CommandType } from './commands.js';
import { presentTicket, presentTicketSummary } from './presenter.js';
import { createTicketSchema, etagOf, idempotencyHeader, ifMatchHeader, listTicketsQuery, ticketIdParams } from './schema.js';
import type { TicketService } from './service.js';
import { RULES } from './machine.js';
import { parse } from '../http/router.js';

/** camelCase command → URL segment: requestExtension → request-extension. */
export const commandPath = (t: CommandType): string => t.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const SUMMARIES: Record<CommandType, string> = {
  classify: 'Classify (分类): category, urgency, area',
  answerDirectly: 'Answer on the spot (直接办结)',
  dispatch: 'Dispatch to a lead department with co-handlers (派单 / 协办)',
  sign: 'Sign for a dispatched ticket (签收)',
  return: 'Return a wrongly dispatched ticket with a reason (退单)',
  reviewReturn: 'Review a return (派单异议审核); approve sends it back for re-dispatch (改派)',
  requestExtension: 'Request an extension (延期申请)',
  decideExtension: 'Approve or deny an extension (延期审批)',
  coNote: 'Co-handling department opinion (协办意见)',
  reply: 'Reply with the result (答复 / 办结反馈)',
  reviewReply: 'Hotline review of the reply (审核): accept or send back (重办)',
  returnVisit: 'Return visit with the citizen, optional rating (回访 / 好差评)',
  rate: 'Record a rating for this round (好差评)',
  verifyRating: 'Verify a bad rating (差评核实): valid → rectification (整改), invalid → closed',
  urge: 'Urge the handling department (催办)',
  supervise: 'Put the ticket under supervision (督办)',
  merge: 'Merge this duplicate into its master ticket (重复件并单)',
  reopen: 'Reopen a closed ticket (重新打开)',
  close: 'Close at intake with a reason (e.g. praise forwarded, invalid call)',
  contact: 'Record the first contact with the citizen (先行联系)',
  requestSuspension: 'Ask to pause the clocks while waiting on the citizen or a third party (挂起申请)',
  decideSuspension: 'Approve or deny a suspension (挂起审批)',
  resume: 'Resume the clocks after a suspension (恢复)',
  citizenInfo: 'Record what the citizen answered or supplied (补充材料); resumes a suspended ticket',
  tick: 'Deadline supervision step (engine only)',
};

export function ticketRoutes(api: ApiRouter, tickets: TicketService): void {
  api.add({
    method: 'post',
    path: '/tickets',
    tag: 'tickets',
    summary: 'Create a ticket (受理); send Idempotency-Key to make retries safe',
    roles: HOTLINE_ROLES,
    body: createTicketSchema,
    headers: idempotencyHeader,
    status: 201,
    async handler({ req, res, body, actor }) {
      const { 'idempotency-key': key } = parse(idempotencyHeader, { 'idempotency-key': req.headers['idempotency-key'] }, 'headers');
      const { ticket, created } = await tickets.create(body, actor, key);
      res.status(created ? 201 : 200).json(presentTicket(ticket, actor));
    },
  });

  api.add({
    method: 'get',
    path: '/tickets',
    tag: 'tickets',
    summary: 'Search and list tickets visible to the caller',
    roles: ALL_ROLES,
    query: listTicketsQuery,
    async handler({ query, actor }) {
      const r = await tickets.list(query, actor);
      return { ...r, items: r.items.map((t) => presentTicketSummary(t, actor)) };
    },
  });

  api.add({
    method: 'get',
    path: '/tickets/:id',
    tag: 'tickets',
    summary: 'One ticket with its timeline (audit trail)',
    roles: ALL_ROLES,
    params: ticketIdParams,
    async handler({ params, actor, res }) {
      const doc = await tickets.get(params.id, actor);
      res.setHeader('ETag', etagOf(doc.version));
      return { ...presentTicket(doc, actor), duplicates: await tickets.duplicatesOf(params.id) };
    },
  });

  // `tick` is the deadline engine's own command; it has no route.
  for (const type of COMMAND_TYPES.filter((t) => RULES[t].roles.some((r) => r !== 'system'))) {
    api.add({
      method: 'post',
      path: `/tickets/:id/${commandPath(type)}`,
      tag: 'ticket actions',
      summary: `${SUMMARIES[type]}. States: ${RULES[type].from.join(', ')}`,
      roles: RULES[type].roles.filter((r) => r !== 'system') as typeof ALL_ROLES,
      params: ticketIdParams,
      body: commandSchemas[type],
      headers: ifMatchHeader,
      async handler({ req, res, params, body, actor }) {
        const { 'if-match': expected } = parse(ifMatchHeader, { 'if-match': req.headers['if-match'] }, 'headers');
        const command = { ...(body as object), type } as Command;
        const doc = await tickets.execute(params.id, command, actor, expected);
        res.setHeader('ETag', etagOf(doc.version));
        return presentTicket(doc, actor);
      },
    });
  }
}
