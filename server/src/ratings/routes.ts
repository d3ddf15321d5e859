/**
 * Public rating link (no login) and the IVR keypad endpoint (issue #6 item 4).
 *
 * GET  /api/rate/{token}                 the ticket being rated (masked) and the five levels
 * POST /api/rate/{token}                 {level, comment?}: the citizen's rating, once
 * POST /api/tickets/{id}/keypad-rating   {digit 1–5}: hotline users, or the IVR with X-IVR-Key
 */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { HOTLINE_ROLES } from '../auth/policies.js';
import { AppError } from '../errors.js';
import { parse, type ApiRouter } from '../http/router.js';
import { etagOf, ticketIdParams } from '../tickets/schema.js';
import { presentTicket } from '../tickets/presenter.js';
import { RATING_LEVELS } from '../tickets/vocabulary.js';
import type { PublicLimits } from '../intake/limits.js';
import { RATING_TOKEN_SHAPE } from './link-page.js';
import { levelOfDigit, parseLevel, RATING_LABELS } from './levels.js';
import { KEYPAD_ACTOR, type RatingService } from './service.js';

// Any token-like string is accepted here and an unknown one answers 404 (tokens.ts checks the
// exact shape): a mistyped link is "not found", not a validation error.
const tokenParams = z.object({ token: z.string().regex(RATING_TOKEN_SHAPE, 'must be a rating token') });

const rateBody = z.object({
  /** A level id (`satisfied`) or its label (`满意`). */
  level: z.enum([...RATING_LEVELS, ...RATING_LEVELS.map((l) => RATING_LABELS[l])] as [string, ...string[]]).transform((v) => parseLevel(v)!),
  comment: z.string().trim().max(500).optional(),
});

const keypadBody = z.object({
  /** 1 非常满意, 2 满意, 3 基本满意, 4 不满意, 5 非常不满意 */
  digit: z.number().int().min(1).max(5),
});

const sameKey = (given: string, want: string): boolean => {
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
};

export function ratingRoutes(api: ApiRouter, deps: { ratings: RatingService; ivrApiKey?: string; limits?: PublicLimits }): void {
  /** Per-IP limits of the public link endpoints; an unknown token (404) counts against the IP apart. */
  const limited = async <T>(req: Request, res: Response, f: () => Promise<T>): Promise<T> => {
    const limits = deps.limits;
    if (!limits) return f();
    const ip = req.ip ?? 'unknown';
    await limits.check(res, [['failed_rating_links_per_ip', ip]]);
    await limits.consume(res, [['rating_links_per_ip', ip]]);
    try {
      return await f();
    } catch (e) {
      if (e instanceof AppError && e.code === 'NOT_FOUND') await limits.penalty('failed_rating_links_per_ip', ip);
      throw e;
    }
  };

  api.add({
    method: 'get',
    path: '/rate/:token',
    tag: 'ratings',
    summary: 'Rating link (好差评, public): the ticket being rated, masked, and the five levels. 404 unknown, 410 expired, 409 used; 429 when one address asks too often or for too many unknown links',
    params: tokenParams,
    async handler({ req, res, params }) {
      return limited(req, res, () => deps.ratings.view(params.token));
    },
  });

  api.add({
    method: 'post',
    path: '/rate/:token',
    tag: 'ratings',
    summary: 'Rate through the link (好差评, public, single use): level 非常满意…非常不满意; a real-name bad rating opens verification (核实); 429 as for GET',
    params: tokenParams,
    body: rateBody,
    async handler({ req, res, params, body }) {
      return limited(req, res, () => deps.ratings.rateByLink(params.token, body.level, body.comment));
    },
  });

  // The IVR has no user account: with `X-IVR-Key` (IVR_API_KEY) it acts as the system; without
  // the header the route below authenticates a hotline user as usual.
  const path = '/tickets/:id/keypad-rating';
  api.router.post(path, async (req: Request, res: Response, next: NextFunction) => {
    const key = req.headers['x-ivr-key'];
    if (key === undefined) return next();
    if (!deps.ivrApiKey || typeof key !== 'string' || !sameKey(key, deps.ivrApiKey)) {
      throw new AppError('UNAUTHENTICATED', 'invalid IVR key', { reason: 'TOKEN_INVALID' });
    }
    const params = parse(ticketIdParams, req.params, 'params');
    const body = parse(keypadBody, req.body ?? {}, 'body');
    const doc = await deps.ratings.rateByKeypad(params.id, levelOfDigit(body.digit)!, KEYPAD_ACTOR);
    res.setHeader('ETag', etagOf(doc.version));
    res.json(presentTicket(doc, KEYPAD_ACTOR));
  });
  api.add({
    method: 'post',
    path,
    tag: 'ratings',
    summary:
      'Phone keypad rating (电话按键评价) of the current round: digit 1 非常满意, 2 满意, 3 基本满意, 4 不满意, 5 非常不满意. The IVR calls it with X-IVR-Key instead of a login',
    roles: HOTLINE_ROLES,
    params: ticketIdParams,
    body: keypadBody,
    async handler({ params, body, actor, res }) {
      const doc = await deps.ratings.rateByKeypad(params.id, levelOfDigit(body.digit)!, actor);
      res.setHeader('ETag', etagOf(doc.version));
      return presentTicket(doc, actor);
    },
  });
}
