/**
 * Citizen notifications (issue #6 item 3) through a local HTTP server standing in for the SMS
 * gateway: a failing gateway is retried with backoff and the SMS delivered once; a gateway that
 * keeps failing ends in a failed job while the ticket goes on untouched.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTIFICATIONS_QUEUE, notificationJobId } from '../../server/src/notify/notifications.js';
import { intake, startTestApp, type TestApp } from '../helpers/app.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { until } from '../helpers/until.js';

const FLAKY = '13812345678'; // the gateway fails the first attempt of each message to this number
const DEAD = '13900001111'; // the gateway always fails for this number

let t: TestApp;
let gateway: Receiver;
let queue: Queue;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
const act = async (user: string, id: string, action: string, body: Record<string, unknown> = {}) =>
  t.api.post(`/api/tickets/${id}/${action}`).set(await auth(user)).send(body);
const sms = (r: { body: string }) => JSON.parse(r.body) as { id: string; to: string; text: string; kind: string; ticketNumber: string };

beforeAll(async () => {
  const seen = new Set<string>();
  gateway = await startReceiver((r) => {
    const m = sms(r);
    if (m.to === DEAD) return 500;
    if (!seen.has(m.id)) {
      seen.add(m.id);
      return 503;
    }
    return 200;
  });
  t = await startTestApp({
    env: { SMS_GATEWAY_URL: `${gateway.url}/sms`, SMS_TIMEOUT_MS: '2000', NOTIFY_ATTEMPTS: '3', NOTIFY_BACKOFF_MS: '100', RATING_LINK_BASE: 'https://12345.example.gov.cn/rate/' },
  });
  queue = new Queue(NOTIFICATIONS_QUEUE, { connection: t.app.redis, prefix: t.prefix });
});

afterAll(async () => {
  await queue?.close();
  await t?.close();
  await gateway?.close();
});

const delivered = (id: string) => gateway.requests.filter((r) => r.status === 200 && sms(r).id === id);

describe('citizen notifications over an SMS gateway', () => {
  it('dispatch, reply and the rating invitation: a failed attempt is retried and each SMS delivered once', async () => {
    const created = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ caller: { name: '张三', phone: FLAKY } }));
    const id = created.body.id as string;
    const number = created.body.number as string;
    expect((await act('agent1', id, 'dispatch', { leadDepartmentId: 'city-urban' })).status).toBe(200);

    const dispatchedId = notificationJobId(id, 'dispatched', 1);
    const [first] = await until('the dispatch SMS delivered', async () => (delivered(dispatchedId).length > 0 ? delivered(dispatchedId) : null));
    const m = sms(first!);
    expect(m).toMatchObject({ to: FLAKY, kind: 'dispatched', ticketNumber: number });
    expect(m.text).toContain(number);
    expect(m.text).toContain('市城市管理局');
    // one refused attempt (503), then the delivery
    expect(gateway.requests.filter((r) => sms(r).id === dispatchedId).map((r) => r.status)).toEqual([503, 200]);
    expect(gateway.requests[0]!.headers['idempotency-key']).toBe(dispatchedId);

    // A repeated ticket event (at-least-once delivery) queues nothing new.
    await t.app.queue.add('ticket.dispatched', { ticketId: id, eventId: `${id}-dup`, type: 'ticket.dispatched', version: 2, at: new Date().toISOString(), data: { from: 'received', to: 'dispatched' } }, { jobId: `${id}-dup` });
    await until('the duplicate event handled', async () => (await t.app.queue.getJob(`${id}-dup`))?.isCompleted());

    expect((await act('urban1', id, 'sign')).status).toBe(200);
    expect((await act('urban1', id, 'reply', { text: '已责令施工单位停止夜间施工。' })).status).toBe(200);
    await until('the reply SMS', async () => delivered(notificationJobId(id, 'replied', 1)).length === 1);
    expect((await act('agent1', id, 'review-reply', { accept: true })).status).toBe(200);
    const [invite] = await until('the rating invitation', async () => {
      const d = delivered(notificationJobId(id, 'rating_invite', 1));
      return d.length ? d : null;
    });
    const text = sms(invite!).text;
    expect(text).toContain('请对办理结果进行评价');
    expect(text).toMatch(/https:\/\/12345\.example\.gov\.cn\/rate\/[A-Za-z0-9_-]{43}$/);

    await new Promise((r) => setTimeout(r, 500)); // time for any stray duplicate
    for (const kind of ['dispatched', 'replied', 'rating_invite'] as const) expect(delivered(notificationJobId(id, kind, 1))).toHaveLength(1);
  });

  it('a merged duplicate shares the handling: when the master is replied to, its caller is answered too', async () => {
    const DUP = '13700002222';
    const master = (await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ caller: { name: '王五', phone: '13700001111' } }))).body.id as string;
    const dup = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ caller: { name: '赵六', phone: DUP } }));
    expect((await act('agent1', dup.body.id, 'merge', { masterId: master })).status).toBe(200);
    expect((await act('agent1', master, 'dispatch', { leadDepartmentId: 'city-urban' })).status).toBe(200);
    expect((await act('urban1', master, 'sign')).status).toBe(200);
    expect((await act('urban1', master, 'reply', { text: '已处理。' })).status).toBe(200);
    const [m] = await until('the duplicate caller answered', async () => {
      const d = delivered(notificationJobId(dup.body.id, 'replied', 1));
      return d.length ? d : null;
    });
    expect(sms(m!)).toMatchObject({ to: DUP, kind: 'replied', ticketNumber: dup.body.number });
    expect(sms(m!).text).toContain(dup.body.number);
  });

  it('a gateway that keeps failing: the job fails after its attempts, the ticket goes on', async () => {
    const created = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ caller: { name: '李四', phone: DEAD } }));
    const id = created.body.id as string;
    const dispatched = await act('agent1', id, 'dispatch', { leadDepartmentId: 'city-urban' });
    expect(dispatched.status).toBe(200);
    const jobId = notificationJobId(id, 'dispatched', 1);
    const job = await until('the notification job failed', async () => {
      const j = await queue.getJob(jobId);
      // read the job again once it has failed: the copy fetched before its last attempt ended
      // still says two attempts
      return j && (await j.getState()) === 'failed' ? queue.getJob(jobId) : null;
    });
    expect(job.attemptsMade).toBe(3);
    expect(job.failedReason).toContain('500');
    expect(gateway.requests.filter((r) => sms(r).id === jobId)).toHaveLength(3);

    // the ticket is unaffected: nothing on its timeline, and the loop continues
    const signed = await act('urban1', id, 'sign');
    expect(signed.status).toBe(200);
    expect(signed.body.state).toBe('handling');
    const detail = await t.api.get(`/api/tickets/${id}`).set(await auth('super1'));
    expect(detail.body.timeline.map((e: { action: string }) => e.action)).toEqual(['create', 'dispatch', 'sign']);
    // the log names the failure but never the number
    expect(t.logs.some((l) => l.includes(jobId) && l.includes('failed for good'))).toBe(true);
    expect(t.logs.some((l) => l.includes(DEAD))).toBe(false);
  });
});

describe('without an SMS gateway (local runs)', () => {
  it('the file sender appends each notification as a JSON line under DATA_DIR', async () => {
    const local = await startTestApp();
    try {
      const token = await local.token('agent1');
      const created = await local.api.post('/api/tickets').set({ authorization: `Bearer ${token}` }).send(intake());
      const id = created.body.id as string;
      await local.api.post(`/api/tickets/${id}/dispatch`).set({ authorization: `Bearer ${token}` }).send({ leadDepartmentId: 'city-urban' });
      const file = join(local.app.env.DATA_DIR, 'notifications.jsonl');
      const line = await until('the notification in the file', async () => {
        const text = await readFile(file, 'utf8').catch(() => '');
        return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; text: string }).find((m) => m.id === notificationJobId(id, 'dispatched', 1));
      });
      expect(line.text).toContain(created.body.number);
    } finally {
      await local.close();
    }
  });
});
