/**
 * The rating link as the SMS carries it (`${RATING_LINK_BASE}<token>`, default
 * `http://127.0.0.1:8080/rate/<token>`): a public 302 to the console's rating page
 * (`/#/rate/<token>`, the console uses a HashRouter). No login, no session, nothing looked up
 * here — the page asks GET /api/rate/{token}, which says 404 / 410 / 409.
 *
 * A token of the wrong shape still goes to the page (`/#/rate/invalid`), which tells the
 * citizen "this link is not valid" and gives the hotline number: a person who tapped a mangled
 * SMS link should see a page, not a JSON error.
 *
 * Moving the token from the path into the fragment also keeps it out of the Referer and of the
 * request logs of everything the page loads afterwards.
 */
import type { Express } from 'express';

/**
 * The shape GET/POST /api/rate/{token} accept (ratings/routes.ts `tokenParams` uses this: any
 * token-like string; tokens.ts checks the exact shape).
 */
export const RATING_TOKEN_SHAPE = /^[A-Za-z0-9_-]{1,100}$/;

/** Where the console shows the rating page of a token (a hash route). */
export const ratingPageOf = (token: string): string => `/#/rate/${RATING_TOKEN_SHAPE.test(token) ? token : 'invalid'}`;

export function ratingLinkPage(app: Express): void {
  app.get('/rate/:token', (req, res) => {
    const token = typeof req.params.token === 'string' ? req.params.token : '';
    // personal, single use: no cache, and the token goes no further than this redirect
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.redirect(302, ratingPageOf(token));
  });
}
