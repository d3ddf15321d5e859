/**
 * The supervisor's wallboard live (issue #5 item 4), in chromium against the production build.
 * One wallboard page is opened at the start and never reloaded: every change below reaches it
 * through the socket (`call.event`, `ticket.event`) and the refetches those events trigger. The
 * page's once-a-minute refresh is switched off (see `noMinutePolls`), so nothing here can pass
 * on a timer either.
 *
 * - calls: telephony is played by its own BullMQ publisher (telephony/src/call-events.ts) on the
 *   real queues, as in agent-call.test.ts; the queue, the longest wait and the agents panel
 *   follow, and the call KPIs equal GET /api/kpis/calls once calls were answered and abandoned;
 * - ticket KPIs equal GET /api/kpis/tickets (the roll-ups, once they caught up) and follow a
 *   reply, a rating, a rectification; both ECharts charts draw, the category chart follows a
 *   ticket filed (its series total, read back from the ECharts instance);
 * - the late list shows a ticket in warning, then overdue (an SLA policy of seconds); 催办 and
 *   督办 from the wallboard are recorded on the ticket;
 * - a bad rating by the SMS link appears in the verification queue; 核实 from the wallboard
 *   sends the ticket back for rectification.
 * Screenshots: test-artifacts/screenshots/wallboard-*.png.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Job } from 'bullmq';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RingCommand } from '../../server/src/calls/telephony-contract.js';
import { defaultPolicyTable, type PolicyTable } from '../../server/src/deadlines/policy.js';
import { notificationJobId } from '../../server/src/notify/notifications.js';
import { CATEGORIES, URGENCIES } from '../../server/src/tickets/vocabulary.js';
import { intake, kpiRollupsCaughtUp, ticketToVisiting } from '../helpers/app.js';
import { until } from '../helpers/until.js';
import { hasBrowser, login, newPage, settledDialog, SHOTS, textOf, visible } from './browser.js';
import { callPlayer } from '../helpers/call-player.js';
import { browserSuite } from './suite.js';

const SDP = 'v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';

interface Ratio {
  numerator: number;
  denominator: number;
  rate: number | null;
}
/** As the wallboard shows a rate. */
const pct = (rate: number | null | undefined): string => (rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`);
/** Today in city time (UTC+8) as a bare date: the wallboard's `from` for the call KPIs. */
const todayCity = (): string => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);

/**
 * The wallboard also refreshes its KPIs and late list once a minute. A test of what events do
 * must not be rescued by that timer: intervals of a minute or more never start in this page.
 */
async function noMinutePolls(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = globalThis as unknown as { setInterval: (fn: () => void, ms?: number, ...rest: unknown[]) => number };
    const real = w.setInterval.bind(globalThis);
    w.setInterval = (fn, ms, ...rest) => (ms !== undefined && ms >= 60_000 ? 0 : real(fn, ms, ...rest));
  });
}

const seconds = (s: number) => ({ value: s / 3600, unit: 'hours' as const });
/** Sign due 30 s after dispatch, warning after 6 s; reminders and escalation out of the way. */
function signInSeconds(): PolicyTable {
  const table = defaultPolicyTable();
  table.rules = { ...table.rules, warnRatio: 0.2, remindEvery: seconds(3600), escalateAfter: seconds(3600) };
  for (const c of CATEGORIES) for (const u of URGENCIES) table.deadlines[c][u] = { ...table.deadlines[c][u], sign: seconds(30) };
  return table;
}

describe.skipIf(!hasBrowser)('the wallboard, live', () => {
  // agents made available through the API have neither a phone nor a console: no presence check
  const suite = browserSuite({ env: { ACD_PRESENCE_CHECK: 'false' } });
  const player = callPlayer(() => suite.t);
  /** the supervisor's wallboard, opened once, never reloaded */
  let page: Page;
  let sup: string;

  beforeAll(async () => {
    sup = `Bearer ${await suite.t.token('super1')}`;
    page = await newPage(suite.browser);
    await noMinutePolls(page);
    await login(page, suite.base, 'super1');
    await page.getByTestId('wallboard').waitFor();
  }, 60_000);

  const as = suite.as;
  const stat = (id: string) => page.getByTestId(id).locator('.ant-statistic-content');
  const agentState = (id: string) => expect.poll(() => page.getByTestId(`agent-state-${id}`).getAttribute('data-state'), { timeout: 15_000 });
  const seriesTotal = (chart: string) => expect.poll(async () => Number(await page.getByTestId(chart).getAttribute('data-series-total')), { timeout: 20_000 });
  const jobs = async <T>(name: string): Promise<Job<T>[]> =>
    ((await player.commands.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'])) as Job<T>[]).filter((j) => j.name === name);
  const now = () => new Date().toISOString();
  const offer = (callId: string, fromNumber: string) =>
    player.publisher.publish({ type: 'call.offered', callId, instance: 'tel1', line: 'main', lineName: '12345政务服务便民热线', fromNumber, displayName: '', toNumber: '12345', sdp: SDP, receivedAt: now() });

  /**
   * Waits until today's ticket KPI roll-ups equal the scan, then until the wallboard shows those
   * numbers (numerator/denominator and rate) for each field; returns the API's totals.
   */
  async function ticketKpisShown(fields: string[]): Promise<Record<string, Ratio>> {
    const { rollup } = await kpiRollupsCaughtUp<{ total: Record<string, Ratio> }>(suite.t, sup);
    expect(rollup.source).toBe('rollup');
    for (const f of fields) {
      const r = rollup.total[f]!;
      await expect.poll(() => page.getByTestId(`kpi-${f}`).getAttribute('data-ratio'), { timeout: 30_000 }).toBe(`${r.numerator}/${r.denominator}`);
      await textOf(stat(`kpi-${f}`)).toBe(pct(r.rate));
    }
    return rollup.total;
  }

  it('calls: the queue, the longest wait and the agents follow the ACD; answer rate, service level and abandon rate equal GET /api/kpis/calls', async () => {
    await textOf(page.getByTestId('rt-status')).toBe('实时');
    await textOf(stat('kpi-waiting')).toBe('0');
    await textOf(stat('kpi-longestWait')).toBe('0 s');
    await agentState('agent1').toBe('logged_out');
    await agentState('agent2').toBe('logged_out');
    await seriesTotal('chart-callsPerHour').toBe(0);

    // a citizen calls while nobody is available: the call waits, and the wait grows
    const first = `${randomUUID()}@127.0.0.1`;
    await offer(first, '13911110001');
    await textOf(stat('kpi-waiting')).toBe('1');
    await visible(page.getByTestId('queue-table').locator('tr', { hasText: '13911110001' }));
    await expect.poll(async () => parseInt((await stat('kpi-longestWait').textContent()) ?? '', 10), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);

    // agents change state through the API: agent2 takes a break, agent1 becomes available
    expect((await suite.t.api.post('/api/agents/me/state').set(await as('agent2')).send({ state: 'break' })).status).toBe(200);
    await agentState('agent2').toBe('break');
    await textOf(page.getByTestId('agent-state-agent2')).toBe('小休');
    expect((await suite.t.api.post('/api/agents/me/state').set(await as('agent1')).send({ state: 'available' })).status).toBe(200);
    // the ACD offers the waiting call to agent1 at once; their phone answers
    const ring = await until('ring command', async () => (await jobs<RingCommand>('ring')).find((j) => j.data.callId === first) ?? null);
    expect(ring.data.agentId).toBe('agent1');
    await player.publisher.publish({ type: 'call.answered', callId: first, agentId: 'agent1', offerAt: ring.data.offerAt, at: now() });
    await agentState('agent1').toBe('on_call');
    await textOf(page.getByTestId('agent-state-agent1')).toBe('通话中');
    await textOf(stat('kpi-waiting')).toBe('0');
    await textOf(stat('kpi-longestWait')).toBe('0 s');

    // a second caller waits (agent1 busy, agent2 on a break) and hangs up
    const second = `${randomUUID()}@127.0.0.1`;
    await offer(second, '13911110002');
    await textOf(stat('kpi-waiting')).toBe('1');
    await visible(page.getByTestId('queue-table').locator('tr', { hasText: '13911110002' }));
    await page.screenshot({ path: resolve(SHOTS, 'wallboard-queue.png'), fullPage: true });
    await player.publisher.publish({ type: 'call.abandoned', callId: second, line: 'main', reason: 'caller-cancel', finalStatus: 487, at: now() });
    await textOf(stat('kpi-waiting')).toBe('0');
    expect(await page.getByTestId('queue-table').locator('tr', { hasText: '13911110002' }).count()).toBe(0);
    // the first caller hangs up: agent1 goes to wrap-up
    await player.publisher.publish({ type: 'call.ended', callId: first, by: 'caller', reason: 'bye', at: now() });
    await agentState('agent1').toBe('wrap_up');

    // the call KPIs of today (the wallboard's own query) as the API computes them
    const kpis = await until('both calls in the call KPIs', async () => {
      const r = await suite.t.api.get('/api/kpis/calls').query({ from: todayCity(), groupBy: 'hour' }).set('authorization', sup);
      return r.status === 200 && r.body.total.offered === 2 && r.body.total.abandoned === 1 ? r.body : null;
    });
    expect(kpis.total).toMatchObject({ offered: 2, answered: 1, abandoned: 1, answerRate: 0.5, abandonRate: 0.5 });
    for (const field of ['answerRate', 'serviceLevel', 'abandonRate'] as const) await textOf(stat(`kpi-${field}`), 20_000).toBe(pct(kpis.total[field]));
    await textOf(stat('kpi-offered')).toBe('2');
    await textOf(stat('kpi-answered')).toBe('1');
    expect(await stat('kpi-serviceLevel').textContent()).not.toBe('—');
    // the calls-per-hour chart draws offered + answered + abandoned of every hour
    const drawn = (kpis.buckets as { offered: number; answered: number; abandoned: number }[]).reduce((n, b) => n + b.offered + b.answered + b.abandoned, 0);
    expect(drawn).toBe(4);
    await seriesTotal('chart-callsPerHour').toBe(drawn);
    await page.screenshot({ path: resolve(SHOTS, 'wallboard-calls.png'), fullPage: true });
  }, 60_000);

  it('ticket KPIs equal GET /api/kpis/tickets and follow a reply and a rating; both charts draw, the category chart follows a ticket filed', async () => {
    // two ECharts canvases: calls per hour and tickets by category
    await expect.poll(() => page.locator('[data-testid^="chart-"] canvas').count(), { timeout: 15_000 }).toBe(2);
    const byCategory = async () => (await suite.t.api.get('/api/stats/tickets-by-category').set('authorization', sup)).body as { total: number; items: { category: string; count: number }[] };
    const before = await byCategory();
    await seriesTotal('chart-byCategory').toBe(before.total);

    const filed = await suite.t.api.post('/api/tickets').set(await as('agent1')).send(intake({ category: 'help', content: '独居老人家中水管爆裂，需要帮助联系维修。' }));
    expect(filed.status).toBe(201);
    const after = await byCategory();
    expect(after.total).toBe(before.total + 1);
    expect(after.items.find((i) => i.category === 'help')!.count).toBe(before.items.find((i) => i.category === 'help')!.count + 1);
    await seriesTotal('chart-byCategory').toBe(after.total);

    const initial = await ticketKpisShown(['timelyDispatch', 'onTimeReply', 'satisfaction', 'rectificationOnTime']);
    // a ticket through dispatch, sign, reply (on time) and review: the on-time reply rate moves
    const tk = await ticketToVisiting(suite.t, { intake: { content: '小区门口道路积水严重，行人无法通行。' } });
    const replied = await ticketKpisShown(['timelyDispatch', 'onTimeReply']);
    expect(replied.onTimeReply!.denominator).toBe(initial.onTimeReply!.denominator + 1);
    expect(replied.onTimeReply!.numerator).toBe(initial.onTimeReply!.numerator + 1);
    // the return visit rates it 满意: the satisfaction rate moves
    const visited = await suite.t.api.post(`/api/tickets/${tk.id}/return-visit`).set(await as('agent1')).send({ contacted: true, rating: 'satisfied' });
    expect(visited.status).toBe(200);
    const rated = await ticketKpisShown(['satisfaction']);
    expect(rated.satisfaction!.denominator).toBe(initial.satisfaction!.denominator + 1);
    expect(await stat('kpi-satisfaction').textContent()).toBe('100.0%');
    await page.screenshot({ path: resolve(SHOTS, 'wallboard-kpis.png'), fullPage: true });
  }, 90_000);

  it('late tickets: a ticket shows in warning, then overdue, under its department; 催办 and 督办 from the wallboard are recorded', async () => {
    const admin = await as('admin');
    expect((await suite.t.api.post('/api/sla-policies').set(admin).send({ table: signInSeconds(), note: 'wallboard test: sign within 30 s' })).status).toBe(201);
    const created = await suite.t.api.post('/api/tickets').set(await as('agent1')).send(intake({ content: '人行道井盖破损，夜间有行人跌倒风险。', area: { districtId: null, streetId: null } }));
    expect(created.status).toBe(201);
    const { id, number } = created.body as { id: string; number: string };
    expect((await suite.t.api.post(`/api/tickets/${id}/dispatch`).set(await as('agent1')).send({ leadDepartmentId: 'city-urban' })).status).toBe(200);
    // later tickets get the ordinary deadlines again
    expect((await suite.t.api.post('/api/sla-policies').set(admin).send({ table: defaultPolicyTable(), note: 'wallboard test: back to the defaults' })).status).toBe(201);

    const lateTab = page.getByRole('tab', { name: /预警\/超期工单/ });
    await lateTab.click();
    const row = page.getByTestId('late-tickets').locator(`tr[data-row-key="${id}"]`);
    const dept = page.getByTestId('late-by-department').locator('tr[data-row-key="city-urban"]');
    // yellow after 6 s (the deadline worker's warning event), red after 30 s
    await visible(row.getByText(/签收 预警/), 25_000);
    await expect.poll(async () => (await dept.locator('td').allTextContents()).slice(1), { timeout: 10_000 }).toEqual(['1', '0']);
    await page.screenshot({ path: resolve(SHOTS, 'wallboard-late-warning.png'), fullPage: true });
    await visible(row.getByText(/签收 超期/), 45_000);
    await expect.poll(async () => (await dept.locator('td').allTextContents()).slice(1), { timeout: 10_000 }).toEqual(['0', '1']);
    const stats = await suite.t.api.get('/api/stats/deadlines').set('authorization', sup);
    expect(stats.body.byDepartment).toEqual([{ departmentId: 'city-urban', warning: 0, overdue: 1 }]);
    await textOf(lateTab).toBe('预警/超期工单（1）');
    await page.screenshot({ path: resolve(SHOTS, 'wallboard-late.png'), fullPage: true });

    // 催办 then 督办 from the wallboard's drawer
    await row.getByRole('button', { name: `催办/督办 ${number}` }).click();
    const drawer = page.locator('.ant-drawer');
    await visible(drawer.getByText(number).first());
    // the wallboard's drawer offers exactly these two
    expect((await drawer.locator('[data-command]').evaluateAll((els) => els.map((e) => (e as unknown as { dataset: { command: string } }).dataset.command))).sort()).toEqual(['supervise', 'urge']);
    const urgeText = '请市城管局今日内签收并联系市民。';
    await drawer.locator('[data-command="urge"]').click();
    let dialog = await settledDialog(page.getByRole('dialog', { name: `催办 · ${number}` }));
    await dialog.locator('textarea').first().fill(urgeText);
    await dialog.getByRole('button', { name: /确\s*定/ }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
    // the late list shows the urge (催办 1 次)
    await visible(row.getByText('催办 1 次'));
    const superviseText = '列入督办：限明日下班前答复并报送处理结果。';
    await drawer.locator('[data-command="supervise"]').click();
    dialog = await settledDialog(page.getByRole('dialog', { name: `督办 · ${number}` }));
    await dialog.locator('textarea').first().fill(superviseText);
    await page.screenshot({ path: resolve(SHOTS, 'wallboard-supervise.png') });
    await dialog.getByRole('button', { name: /确\s*定/ }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 15_000 });

    const tk = (await suite.t.api.get(`/api/tickets/${id}`).set('authorization', sup)).body as {
      urgeCount: number;
      supervised: boolean;
      timeline: { action: string; note: string | null; actor: { id: string }; data: Record<string, unknown> | null }[];
    };
    expect(tk.urgeCount).toBe(1);
    expect(tk.supervised).toBe(true);
    const urge = tk.timeline.filter((e) => e.action === 'urge');
    expect(urge).toEqual([expect.objectContaining({ note: urgeText, actor: expect.objectContaining({ id: 'super1' }), data: expect.objectContaining({ urgeCount: 1, departmentId: 'city-urban' }) })]);
    const supervise = tk.timeline.filter((e) => e.action === 'supervise');
    expect(supervise).toEqual([expect.objectContaining({ note: superviseText, actor: expect.objectContaining({ id: 'super1' }), data: expect.objectContaining({ departmentId: 'city-urban' }) })]);
    await page.locator('.ant-drawer-close').click();
    await drawer.waitFor({ state: 'hidden', timeout: 15_000 });
  }, 120_000);

  it('a bad rating by the SMS link joins the verification queue live; 核实 from the wallboard sends it to rectification; the KPIs follow', async () => {
    const before = await ticketKpisShown(['satisfaction', 'rectificationOnTime']);
    const tk = await ticketToVisiting(suite.t, { intake: { content: '楼下烧烤店油烟扰民，晚上十二点后仍在营业。' }, reply: '已责令烧烤店安装油烟净化设备并限时经营。' });
    // the rating invitation (file sender: DATA_DIR/notifications.jsonl) carries the link
    const file = resolve(suite.t.app.env.DATA_DIR, 'notifications.jsonl');
    const sms = await until('the rating invitation SMS', async () =>
      (await readFile(file, 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: string; text: string })
        .find((m) => m.id === notificationJobId(tk.id, 'rating_invite', 1)),
    );
    const token = /\/rate\/([A-Za-z0-9_-]+)/.exec(sms.text)?.[1];
    expect(token, sms.text).toBeTruthy();

    const disputedTab = page.getByRole('tab', { name: /差评核实/ });
    await textOf(disputedTab).toBe('差评核实（0）');
    const bad = await suite.t.api.post(`/api/rate/${token}`).send({ level: '不满意', comment: '油烟问题没有改善' });
    expect(bad.status).toBe(200);
    expect(bad.body).toMatchObject({ level: 'dissatisfied', state: 'disputed' });

    // the queue (and its tab's count) gets it without a reload
    await textOf(disputedTab).toBe('差评核实（1）');
    await disputedTab.click();
    const row = page.getByRole('tabpanel', { name: /差评核实/ }).locator(`tr[data-row-key="${tk.id}"]`);
    await visible(row);
    // the rating counts: one more rated, none more satisfied
    const rated = await ticketKpisShown(['satisfaction']);
    expect(rated.satisfaction).toMatchObject({ numerator: before.satisfaction!.numerator, denominator: before.satisfaction!.denominator + 1 });

    // 核实: the bad rating is valid, the department redoes it (整改)
    await row.getByRole('button', { name: `差评核实 ${tk.number}` }).click();
    const drawer = page.locator('.ant-drawer');
    await visible(drawer.getByText('油烟问题没有改善', { exact: false }));
    await drawer.locator('[data-command="verifyRating"]').click();
    const dialog = await settledDialog(page.getByRole('dialog', { name: `差评核实 · ${tk.number}` }));
    expect(await dialog.getByRole('switch', { name: '差评属实' }).getAttribute('aria-checked')).toBe('true');
    const note = '经回访核实，油烟问题仍存在，退回整改。';
    await dialog.locator('textarea').first().fill(note);
    await page.screenshot({ path: resolve(SHOTS, 'wallboard-verify.png') });
    await dialog.getByRole('button', { name: /确\s*定/ }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
    await page.locator('.ant-drawer-close').click();
    await drawer.waitFor({ state: 'hidden', timeout: 15_000 });
    await textOf(disputedTab).toBe('差评核实（0）');
    expect(await row.count()).toBe(0);

    const verified = (await suite.t.api.get(`/api/tickets/${tk.id}`).set('authorization', sup)).body as {
      state: string;
      round: number;
      deadlines: { rectify?: { dueAt: string } | null };
      timeline: { action: string; note: string | null; actor: { id: string }; data: Record<string, unknown> | null }[];
    };
    expect(verified).toMatchObject({ state: 'dispatched', round: 2, leadDepartmentId: 'city-urban' });
    expect(verified.deadlines.rectify?.dueAt).toBeTruthy();
    expect(verified.timeline.filter((e) => e.action === 'verifyRating')).toEqual([
      expect.objectContaining({ note, actor: expect.objectContaining({ id: 'super1' }), data: expect.objectContaining({ valid: true, resolution: 'redo', round: 2 }) }),
    ]);

    // the department rectifies in time: the rectification rate moves on the wallboard
    expect((await suite.t.api.post(`/api/tickets/${tk.id}/sign`).set(await as('urban1')).send({})).status).toBe(200);
    expect((await suite.t.api.post(`/api/tickets/${tk.id}/reply`).set(await as('urban1')).send({ text: '烧烤店已安装油烟净化设备，晚十点后停止营业。' })).status).toBe(200);
    const rectified = await ticketKpisShown(['rectificationOnTime']);
    expect(rectified.rectificationOnTime).toMatchObject({
      numerator: before.rectificationOnTime!.numerator + 1,
      denominator: before.rectificationOnTime!.denominator + 1,
    });
    await page.getByRole('tab', { name: /预警\/超期工单/ }).click();
    await page.screenshot({ path: resolve(SHOTS, 'wallboard-rectified.png'), fullPage: true });
  }, 120_000);
});
