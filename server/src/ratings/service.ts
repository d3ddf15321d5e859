/**
 * Citizens' own ratings (issue #6 item 4): by the single-use link and by the phone keypad
 * (IVR). Both execute the ticket's existing `rate` command as a system actor, so the state
 * machine keeps deciding everything: one rating per round, a real-name bad rating opens 核实
 * (verify clock), the timeline records it.
 */
import { AppError, notFound } from '../errors.js';
import { maskDeep } from '../shared/phone.js';
import type { TicketService } from '../tickets/service.js';
import type { Actor } from '../tickets/types.js';
import { RATING_LEVELS, type RatingLevel } from '../tickets/vocabulary.js';
import { RATING_LABELS } from './levels.js';
import type { RatingTokens } from './tokens.js';

/** The citizen rating through the link (no login). */
export const LINK_ACTOR: Actor = { id: 'citizen-link', name: '市民（评价链接）', role: 'system', departmentId: null };
/** The IVR recording a keypad rating. */
export const KEYPAD_ACTOR: Actor = { id: 'ivr-keypad', name: '电话按键评价', role: 'system', departmentId: null };
const READER: Actor = { id: 'rating-link', name: 'rating link', role: 'system', departmentId: null };

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}…` : s);

export interface RatingLinkView {
  ticket: {
    number: string;
    category: string;
    createdAt: Date;
    /** what the citizen reported, clipped, phone numbers and the caller's name masked */
    content: string;
    /** the answer being rated (department reply or the agent's direct answer), masked */
    answer: string | null;
    answeredAt: Date | null;
  };
  round: number;
  expiresAt: Date;
  levels: { value: RatingLevel; label: string }[];
}

export class RatingService {
  constructor(
    private readonly deps: { tokens: RatingTokens; tickets: TicketService; clock: () => Date },
  ) {}

  /** The link's ticket and round, or the reason it cannot be used (404 / 410 / 409). */
  private async open(token: string) {
    const link = await this.deps.tokens.find(token);
    if (!link) throw notFound('rating link');
    if (link.used) throw new AppError('RATING_LINK_USED', 'this rating link has already been used');
    if (link.expiresAt.getTime() <= this.deps.clock().getTime()) throw new AppError('RATING_LINK_EXPIRED', 'this rating link has expired');
    const ticket = await this.deps.tickets.get(link.ticketId, READER).catch(() => null);
    if (!ticket) throw notFound('rating link');
    if (ticket.round !== link.round || ticket.ratings.some((r) => r.round === link.round)) {
      throw new AppError('RATING_LINK_USED', 'this handling round has already been rated');
    }
    return { link, ticket };
  }

  async view(token: string): Promise<RatingLinkView> {
    const { link, ticket } = await this.open(token);
    const names = ticket.caller.name ? [ticket.caller.name] : [];
    const answer = ticket.reply ?? (ticket.directAnswer ? { text: ticket.directAnswer.text, at: ticket.directAnswer.at } : null);
    return {
      ticket: {
        number: ticket.number,
        category: ticket.category,
        createdAt: ticket.createdAt,
        content: maskDeep(clip(ticket.content, 200), names) as string,
        answer: answer ? (maskDeep(clip(answer.text, 500), names) as string) : null,
        answeredAt: answer?.at ?? null,
      },
      round: link.round,
      expiresAt: link.expiresAt,
      levels: RATING_LEVELS.map((value) => ({ value, label: RATING_LABELS[value] })),
    };
  }

  /** Rate through the link: claim the token (one winner), then the ticket's `rate` command. */
  async rateByLink(token: string, level: RatingLevel, comment?: string): Promise<{ number: string; level: RatingLevel; state: string }> {
    const { link } = await this.open(token);
    const now = this.deps.clock();
    if (!(await this.deps.tokens.claim(token, now))) throw new AppError('RATING_LINK_USED', 'this rating link has already been used');
    try {
      const doc = await this.deps.tickets.execute(link.ticketId, { type: 'rate', level, via: 'link', ...(comment ? { comment } : {}) }, LINK_ACTOR);
      await this.deps.tokens.markUsed(token, now).catch(() => undefined);
      return { number: doc.number, level, state: doc.state };
    } catch (e) {
      // Not recorded (a concurrent change, the ticket moved on…): the link stays usable unless the
      // round was rated meanwhile (by the agent's return visit or the keypad).
      if (!(e instanceof AppError && e.code === 'RATING_EXISTS')) await this.deps.tokens.release(token).catch(() => undefined);
      throw e;
    }
  }

  /** 电话按键评价: the IVR (or a hotline user on its behalf) records the digit the citizen pressed. */
  async rateByKeypad(ticketId: string, level: RatingLevel, recordedBy: Actor): Promise<Awaited<ReturnType<TicketService['execute']>>> {
    const comment = recordedBy.role === 'system' ? undefined : `按键评价（由${recordedBy.name}转接）`;
    return this.deps.tickets.execute(ticketId, { type: 'rate', level, via: 'keypad', ...(comment ? { comment } : {}) }, KEYPAD_ACTOR);
  }
}
