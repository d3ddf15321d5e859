/**
 * Ledger exports (台账, issue #6 item 6) over HTTP on real FerretDB: xlsx and CSV with Chinese
 * headers, the list filters, department scoping and masking, the KPI ledger, bad input, and a
 * large export that streams (bounded memory, first bytes long before the last).
 */
import { ObjectId } from 'mongodb';
import ExcelJS from 'exceljs';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intake, kpiRollupsCaughtUp, startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
async function create(over: Record<string, unknown> = {}): Promise<string> {
  const res = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake(over));
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** supertest: keep the body as a Buffer whatever the content type */
const binary = (res: Response, cb: (err: Error | null, body: Buffer) => void): void => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};

async function sheetRows(buf: Buffer): Promise<string[][]> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  const ws = wb.worksheets[0]!;
  const rows: string[][] = [];
  ws.eachRow((row) => rows.push((row.values as unknown[]).slice(1).map((v) => (v === null || v === undefined ? '' : String(v)))));
  return rows;
}

describe('ticket ledger export', () => {
  let urbanTicket = '';
  beforeAll(async () => {
    urbanTicket = await create({ category: 'complaint', caller: { name: '李四', phone: '13900001111', anonymous: false }, content: '占道经营，联系电话13900001111，请尽快处理。' });
    await create({ category: 'consultation', content: '社保卡补办需要哪些材料？' });
    const res = await t.api.post(`/api/tickets/${urbanTicket}/dispatch`).set(await auth('agent1')).send({ leadDepartmentId: 'city-urban' });
    expect(res.status).toBe(200);
  });

  it('xlsx for a supervisor: Chinese headers, every ticket, full phone numbers, list filters applied', async () => {
    const res = await t.api.get('/api/exports/tickets.xlsx').set(await auth('super1')).buffer(true).parse(binary);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('spreadsheetml');
    expect(res.headers['content-disposition']).toMatch(/attachment; filename=/);
    const rows = await sheetRows(res.body as Buffer);
    expect(rows[0]!.slice(0, 8)).toEqual(['工单编号', '受理时间', '受理渠道', '诉求类型', '紧急程度', '工单状态', '诉求人', '联系电话']);
    expect(rows).toHaveLength(3);
    const urban = rows.find((r) => r[3] === '投诉')!;
    expect(urban).toEqual(expect.arrayContaining(['电话', '已派单', '李四', '13900001111', '市城市管理局']));

    const only = await t.api.get('/api/exports/tickets.xlsx?category=consultation').set(await auth('super1')).buffer(true).parse(binary);
    const filtered = await sheetRows(only.body as Buffer);
    expect(filtered.slice(1).map((r) => r[3])).toEqual(['咨询']);
  });

  it('CSV for a department: a BOM and header line, only its own tickets, phone numbers masked in every column', async () => {
    const res = await t.api.get('/api/exports/tickets.csv').set(await auth('urban1')).buffer(true).parse(binary);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const text = (res.body as Buffer).toString('utf8');
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const lines = text.slice(1).trim().split(/\r?\n/);
    expect(lines[0]!.startsWith('工单编号,受理时间,受理渠道')).toBe(true);
    expect(lines).toHaveLength(2); // header + the urban ticket; the consultation is not theirs
    expect(lines[1]).toContain('139****1111');
    expect(lines[1]).not.toContain('13900001111'); // neither the phone column nor the content
  });

  it('the KPI ledger: city total and one row per department; departments get their own row only', async () => {
    // today's KPIs come from the daily roll-ups, a moment behind the tickets
    await kpiRollupsCaughtUp(t, `Bearer ${await t.token('super1')}`);
    const res = await t.api.get('/api/exports/ticket-kpis.csv').set(await auth('super1')).buffer(true).parse(binary);
    expect(res.status).toBe(200);
    const lines = (res.body as Buffer).toString('utf8').slice(1).trim().split(/\r?\n/);
    expect(lines[0]).toContain('及时转办率');
    expect(lines[1]!.startsWith('全市合计,')).toBe(true);
    expect(lines.some((l) => l.startsWith('市城市管理局,'))).toBe(true);
    const dept = await t.api.get('/api/exports/ticket-kpis.xlsx').set(await auth('urban1')).buffer(true).parse(binary);
    const rows = await sheetRows(dept.body as Buffer);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['市城市管理局']);
    expect((await t.api.get('/api/exports/ticket-kpis.csv?departmentId=city-housing').set(await auth('urban1'))).status).toBe(403);
  });

  it('bad input: unknown format 404, bad filter 400, no token 401, wrong role 403', async () => {
    const pdf = await t.api.get('/api/exports/tickets.pdf').set(await auth('super1'));
    expect(pdf.status).toBe(404);
    expect(pdf.body.error.code).toBe('NOT_FOUND');
    const bad = await t.api.get('/api/exports/tickets.csv?category=nonsense').set(await auth('super1'));
    expect(bad.status).toBe(400);
    expect((await t.api.get('/api/exports/tickets.csv')).status).toBe(401);
    expect((await t.api.get('/api/exports/ticket-kpis.csv').set(await auth('agent1'))).status).toBe(403);
  });
});

describe('a large export streams', { timeout: 240_000 }, () => {
  it('20,000 tickets: the CSV arrives in pieces, memory stays bounded, every row is there', async () => {
    const Ticket = t.app.models.Ticket;
    const base = intake();
    const content = '噪音扰民'.repeat(250); // ~3 KB of UTF-8 per row
    const N = 20_000;
    for (let i = 0; i < N; i += 2_000) {
      const docs = Array.from({ length: 2_000 }, (_, j) => ({
        _id: new ObjectId(),
        number: `BULK-${String(i + j).padStart(6, '0')}`,
        state: 'closed',
        version: 1,
        round: 1,
        channel: 'web',
        caller: base.caller,
        category: 'complaint',
        urgency: 'normal',
        area: base.area,
        address: base.address,
        content,
        confidential: false,
        leadDepartmentId: 'city-urban',
        coDepartmentIds: [],
        createdAt: new Date(),
        updatedAt: new Date(),
      }));
      await Ticket.collection.insertMany(docs as never[]);
    }
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 20);
    let chunks = 0;
    let bytes = 0;
    let lines = 0;
    const res = await t.api
      .get('/api/exports/tickets.csv?channel=web')
      .set(await auth('super1'))
      .buffer(true)
      .parse((r, cb) => {
        r.on('data', (c: Buffer) => {
          chunks++;
          bytes += c.length;
          for (const b of c) if (b === 0x0a) lines++;
        });
        r.on('end', () => cb(null, null));
      });
    clearInterval(sampler);
    expect(res.status).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(lines).toBe(N + 1);
    expect(bytes).toBeGreaterThan(N * 3_000);
    // rows go out as the cursor reads them, in many pieces, not as one body built in memory
    expect(chunks).toBeGreaterThan(100);
    // far less than the 60 MB written (server and test share this process's heap)
    expect(peak - before).toBeLessThan(40 * 1024 * 1024);
  });
});
