/**
 * 好差评 over HTTP on FerretDB (issue #6 items 3+4): the rating invitation's single-use link, the
 * phone keypad, and the whole bad-rating loop — 差评 → 核实 (verify clock) → valid: 整改 back to
 * the department (rectify clock) → new reply → new return visit / rating; invalid: closed with
 * the reason — every step on the timeline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationJobId } from '../../server/src/notify/notifications.js';
import type { RatingClaimDoc, RatingModels, RatingTokenDoc } from '../../server/src/ratings/model.js';
import { RatingTokens } from '../../server/src/ratings/tokens.js';
import { startTestApp, ticketToVisiting, type TestApp } from '../helpers/app.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { until } from '../helpers/until.js';

const IVR_KEY = 'ivr-key-0123456789abcdef';
let t: TestApp;
let gateway: Receiver;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
const act = async (user: string, id: string, action: string, body: Record<string, unknown> = {}) =>
  t.api.post(`/api/tickets/${id}/${action}`).set(await auth(user)).send(body);
const sms = (r: { body: string }) => JSON.parse(r.body) as { id: string; text: string; kind: string };

beforeAll(async () => {
  gateway = await startReceiver(() => 200);
  t = await startTestApp({ env: { SMS_GATEWAY_URL: `${gateway.url}/sms`, NOTIFY_BACKOFF_MS: '100', IVR_API_KEY: IVR_KEY } });
});
afterAll(async () => {
  await t?.close();
  await gateway?.close();
});

/** The SMS of this kind and round for the ticket, once delivered. */
const smsOf = (id: string, kind: string, round: number) =>
  until(`${kind} SMS for round ${round}`, async () => gateway.requests.map(sms).find((m) => m.id === notificationJobId(id, kind as never, round)));
const tokenOf = async (id: string, round: number): Promise<string> => {
  const m = await smsOf(id, 'rating_invite', round);
  return /\/rate\/([A-Za-z0-9_-]{43})$/.exec(m.text)![1]!;
};

/** A ticket waiting for its return visit / rating (the reply names a phone number: masked on the link's page). */
const toVisiting = async (over: Record<string, unknown> = {}): Promise<string> =>
  (await ticketToVisiting(t, { intake: over, reply: '已责令施工单位停止夜间施工，联系人13900002222。' })).id;

describe('rating link, keypad and the bad-rating loop', () => {
  it('bad rating by link → 核实 → valid → 整改 by the department → new return visit → keypad rating closes', async () => {
    const id = await toVisiting({ content: '小区旁工地夜间施工噪音扰民，张三电话13812345678。' });
    const token = await tokenOf(id, 1);

    // the link shows the matter, masked, and the five levels — no login
    const view = await t.api.get(`/api/rate/${token}`);
    expect(view.status).toBe(200);
    expect(view.body.ticket.content).toContain('138****5678');
    expect(view.body.ticket.content).not.toContain('张三');
    expect(view.body.ticket.answer).toContain('139****2222');
    expect(view.body.round).toBe(1);
    expect(view.body.levels.map((l: { label: string }) => l.label)).toEqual(['非常满意', '满意', '基本满意', '不满意', '非常不满意']);

    const bad = await t.api.post(`/api/rate/${token}`).send({ level: '非常不满意', comment: '噪音依旧' });
    expect(bad.status).toBe(200);
    expect(bad.body).toMatchObject({ level: 'very_dissatisfied', state: 'disputed' });
    // single use
    const again = await t.api.post(`/api/rate/${token}`).send({ level: 'satisfied' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('RATING_LINK_USED');
    expect((await t.api.get(`/api/rate/${token}`)).body.error.code).toBe('RATING_LINK_USED');

    // 核实 with its deadline
    const disputed = await t.api.get(`/api/tickets/${id}`).set(await auth('super1'));
    expect(disputed.body.state).toBe('disputed');
    expect(disputed.body.rating).toMatchObject({ level: 'very_dissatisfied', round: 1, realName: true, source: 'citizen', comment: '噪音依旧' });
    expect(disputed.body.deadlines.verify.dueAt).not.toBeNull();
    expect(disputed.body.deadlines.verify.doneAt ?? null).toBeNull();
    // only supervisors verify
    expect((await act('agent1', id, 'verify-rating', { valid: true, note: '回访核实' })).status).toBe(403);

    // valid → 整改: back to the same department with the rectification deadline, round 2
    const verified = await act('super1', id, 'verify-rating', { valid: true, note: '回访核实：夜间施工仍在继续' });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ state: 'dispatched', round: 2, leadDepartmentId: 'city-urban' });
    expect(verified.body.deadlines.rectify.dueAt).not.toBeNull();
    expect(verified.body.deadlines.verify.doneAt).not.toBeNull();
    expect((await smsOf(id, 'rectifying', 2)).text).toContain('整改');

    expect((await act('urban1', id, 'sign')).status).toBe(200);
    const rectified = await act('urban1', id, 'reply', { text: '整改：已对施工单位处罚并安装隔音屏障。' });
    expect(rectified.body.deadlines.rectify.doneAt).not.toBeNull();
    expect((await act('agent1', id, 'review-reply', { accept: true })).body.state).toBe('visiting');

    // a new invitation for round 2; the round-1 link stays dead
    const token2 = await tokenOf(id, 2);
    expect(token2).not.toBe(token);
    expect((await t.api.post(`/api/rate/${token}`).send({ level: 'satisfied' })).status).toBe(409);

    // the citizen rates on the phone keypad later (the IVR, by its key): 2 = 满意
    const wrongKey = await t.api.post(`/api/tickets/${id}/keypad-rating`).set('x-ivr-key', 'not-the-key-0000000').send({ digit: 2 });
    expect(wrongKey.status).toBe(401);
    const keyed = await t.api.post(`/api/tickets/${id}/keypad-rating`).set('x-ivr-key', IVR_KEY).send({ digit: 2 });
    expect(keyed.status).toBe(200);
    expect(keyed.body.state).toBe('closed');
    expect(keyed.body.rating).toMatchObject({ level: 'satisfied', round: 2, source: 'keypad' });
    // one rating per round: the round-2 link and a second keypad rating are refused
    expect((await t.api.get(`/api/rate/${token2}`)).status).toBe(409);
    const twice = await t.api.post(`/api/tickets/${id}/keypad-rating`).set('x-ivr-key', IVR_KEY).send({ digit: 1 });
    expect(twice.body.error.code).toBe('RATING_EXISTS');

    const detail = await t.api.get(`/api/tickets/${id}`).set(await auth('super1'));
    const steps = detail.body.timeline.map((e: { action: string; actor: { name: string } }) => `${e.action}`);
    expect(steps).toEqual(['create', 'dispatch', 'sign', 'reply', 'reviewReply', 'rate', 'verifyRating', 'sign', 'reply', 'reviewReply', 'rate']);
    const rates = detail.body.timeline.filter((e: { action: string }) => e.action === 'rate');
    expect(rates.map((e: { actor: { name: string }; data: { source: string } }) => [e.actor.name, e.data.source])).toEqual([
      ['市民（评价链接）', 'citizen'],
      ['电话按键评价', 'keypad'],
    ]);
    expect(detail.body.ratings.map((r: { round: number; level: string }) => [r.round, r.level])).toEqual([
      [1, 'very_dissatisfied'],
      [2, 'satisfied'],
    ]);
  });

  it('bad keypad rating → 核实 → invalid → closed with the reason', async () => {
    const id = await toVisiting();
    expect((await t.api.post(`/api/tickets/${id}/keypad-rating`).set(await auth('urban1')).send({ digit: 5 })).status).toBe(403);
    const bad = await t.api.post(`/api/tickets/${id}/keypad-rating`).set(await auth('agent2')).send({ digit: 5 });
    expect(bad.status).toBe(200);
    expect(bad.body.state).toBe('disputed');
    expect(bad.body.rating).toMatchObject({ level: 'very_dissatisfied', source: 'keypad' });
    const reason = '经核实，答复符合政策规定，已向市民解释';
    const closed = await act('super1', id, 'verify-rating', { valid: false, note: reason });
    expect(closed.status).toBe(200);
    expect(closed.body.state).toBe('closed');
    expect(closed.body.closure).toMatchObject({ kind: 'rating_invalid', reason });
    const last = closed.body.timeline.at(-1);
    expect(last).toMatchObject({ action: 'verifyRating', from: 'disputed', to: 'closed', note: reason });
  });

  it('racing submissions of one link: exactly one rating', async () => {
    const id = await toVisiting();
    const token = await tokenOf(id, 1);
    const results = await Promise.all(Array.from({ length: 6 }, () => t.api.post(`/api/rate/${token}`).send({ level: 'satisfied' })));
    const codes = results.map((r) => r.status).sort();
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.filter((c) => c !== 200).every((c) => c === 409)).toBe(true);
    const detail = await t.api.get(`/api/tickets/${id}`).set(await auth('super1'));
    expect(detail.body.ratings).toHaveLength(1);
    expect(detail.body.state).toBe('closed');
  });

  it('the agent rated during the return visit first: the link is refused', async () => {
    const id = await toVisiting();
    const token = await tokenOf(id, 1);
    expect((await act('agent2', id, 'return-visit', { contacted: true, rating: 'basically_satisfied' })).body.state).toBe('closed');
    const r = await t.api.post(`/api/rate/${token}`).send({ level: 'very_satisfied' });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('RATING_LINK_USED');
  });

  it('unknown, malformed and expired links', async () => {
    expect((await t.api.get(`/api/rate/${'A'.repeat(43)}`)).status).toBe(404);
    expect((await t.api.get('/api/rate/short')).status).toBe(404);
    expect((await t.api.get(`/api/rate/${'%24gt'}`)).body.error.code).toBe('VALIDATION_FAILED');
    const id = await toVisiting();
    const models: RatingModels = { RatingToken: t.app.mongo.model<RatingTokenDoc>('RatingToken'), RatingClaim: t.app.mongo.model<RatingClaimDoc>('RatingClaim') };
    const { token } = await new RatingTokens(models, 1000).issue(id, 1, new Date(Date.now() - 60_000));
    const r = await t.api.post(`/api/rate/${token}`).send({ level: 'satisfied' });
    expect(r.status).toBe(410);
    expect(r.body.error.code).toBe('RATING_LINK_EXPIRED');
    expect((await t.api.post(`/api/rate/${token}`).send({ level: 'great' })).status).toBe(400);
  });
});

describe('rating link endpoints are rate-limited per address', () => {
  let small: TestApp;
  beforeAll(async () => {
    // 12 link requests an hour per address; unknown links: at most max(5, 12 / 6) = 5
    small = await startTestApp({ env: { PUBLIC_LOOKUPS_PER_IP: '12' } });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('guessing links: five unknown tokens answer 404, then 429 with Retry-After, for GET and POST', async () => {
    const guess = (i: number) => small.api.get(`/api/rate/${String(i).padStart(43, 'G')}`);
    for (let i = 0; i < 5; i++) expect((await guess(i)).status).toBe(404);
    const refused = await guess(5);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'failed_rating_links_per_ip' } });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // a submission from the same address is refused too (no more guesses through POST)
    expect((await small.api.post(`/api/rate/${'H'.repeat(43)}`).send({ level: 'satisfied' })).status).toBe(429);
    // the public complaint lookup has its own budget: not affected
    const lookup = await small.api.post('/api/public/tickets/lookup').send({ number: '12345-20261126-999999', phone: '13800000000' });
    expect(lookup.status).toBe(404);
  });
});
