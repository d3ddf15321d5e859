// The screen pop's caller card (issue #4 item 5) on the real directory of tickets: earlier tickets
// of the number, newest first, and the repeat-caller flag once a number has three or more.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intake, startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { ELDERLY_NUMBERS: '13900000077' } });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const card = (fromNumber: string) =>
  t.app.calls.callerCard({ _id: `card-${fromNumber}`, fromNumber, displayName: '', line: 'main', lineName: '12345政务服务便民热线', fromGateway: null, gatewayReference: null }, new Date());

describe('caller card', () => {
  it('lists earlier tickets newest first and flags a repeat caller from the third ticket on', async () => {
    const phone = '13900000077';
    const agent = `Bearer ${await t.token('agent1')}`;
    expect(await card(phone)).toMatchObject({ fromNumber: phone, elderly: true, repeatCaller: false, earlierTickets: [] });

    const numbers: string[] = [];
    for (const content of ['路灯不亮已有一周，夜间行人不安全。', '小区门口占道经营，早晚高峰严重拥堵。', '下水道井盖缺失，存在安全隐患。']) {
      const r = await t.api.post('/api/tickets').set('authorization', agent).send(intake({ content, caller: { name: '李四', phone, anonymous: false } }));
      expect(r.status).toBe(201);
      numbers.push(r.body.number as string);
      const c = await card(phone);
      expect(c.earlierTickets.map((e) => e.number)).toEqual([...numbers].reverse());
      expect(c.repeatCaller).toBe(numbers.length >= 3);
    }
    const c = await card(phone);
    expect(c.earlierTickets[0]).toMatchObject({ number: numbers[2], state: 'received', summary: '下水道井盖缺失，存在安全隐患。' });
    // another number's card is not affected
    expect(await card('13900000078')).toMatchObject({ elderly: false, repeatCaller: false, earlierTickets: [] });
  }, 60_000);
});
