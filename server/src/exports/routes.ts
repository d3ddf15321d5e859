/**
 * Ledger (台账) exports, issue #6 item 6: tickets and ticket KPIs as xlsx (exceljs' streaming
 * workbook writer) or CSV (csv-stringify, with a BOM so spreadsheet programs read UTF-8), with
 * Chinese headers and the filters of the ticket list. Streamed from a database cursor to the
 * response with backpressure, so a year of tickets never sits in memory; the reader sees only
 * what the list API shows them (departments: their own tickets, phone numbers masked).
 */
import { once } from 'node:events';
import type { Response } from 'express';
import { stringify } from 'csv-stringify';
import ExcelJS from 'exceljs';
import type { Model } from 'mongoose';
import type { DepartmentDoc } from '../directory/model.js';
import type { ApiRouter } from '../http/router.js';
import type { KpiRollup } from '../stats/kpi-rollup.js';
import { departmentScope, kpiQuery, ticketKpiReport } from '../stats/routes.js';
import { rangeOf } from '../stats/range.js';
import type { AllTicketKpis, Ratio } from '../stats/ticket-kpis.js';
import type { TicketDoc } from '../tickets/model.js';
import { listTicketsQuery } from '../tickets/schema.js';
import type { TicketService } from '../tickets/service.js';
import type { Actor } from '../tickets/types.js';
import { LEDGER_COLUMNS, LEDGER_PROJECTION, ledgerRow, type LedgerColumn, type LedgerTicket } from './ledger.js';

export interface ExportRouteDeps {
  tickets: TicketService;
  Ticket: Model<TicketDoc>;
  /** the KPI roll-ups (null: KPIs always read the tickets) */
  rollup: KpiRollup | null;
  Department: Model<DepartmentDoc>;
  utcOffsetMinutes: number;
  clock: () => Date;
}

const FORMATS = ['xlsx', 'csv'] as const;
const ticketExportQuery = listTicketsQuery.omit({ page: true, pageSize: true });

const CONTENT_TYPES = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  csv: 'text/csv; charset=utf-8',
} as const;

/** A sheet written row by row to the response, whichever the format. */
interface SheetWriter {
  add(row: Record<string, string | number>): Promise<void>;
  end(): Promise<void>;
}

function sheetWriter(res: Response, format: 'xlsx' | 'csv', sheetName: string, columns: readonly LedgerColumn[], fileName: string): SheetWriter {
  res.status(200);
  res.attachment(`${fileName}.${format}`); // content-disposition: an ASCII fallback and the UTF-8 name
  res.setHeader('Content-Type', CONTENT_TYPES[format]);
  res.setHeader('Cache-Control', 'no-store');
  if (format === 'csv') {
    const csv = stringify({ header: true, bom: true, columns: columns.map((c) => ({ key: c.key, header: c.header })) });
    csv.pipe(res);
    return {
      async add(row) {
        if (!csv.write(row)) await once(csv, 'drain');
      },
      async end() {
        csv.end();
        await once(res, 'finish');
      },
    };
  }
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: res, useStyles: true, useSharedStrings: false });
  const ws = wb.addWorksheet(sheetName, { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = columns.map((c) => ({ key: c.key, header: c.header, width: c.width }));
  ws.getRow(1).font = { bold: true };
  ws.getRow(1).commit();
  return {
    async add(row) {
      ws.addRow(row).commit();
      // the zip stream buffers what the response has not taken yet: wait for it
      if (res.writableNeedDrain) await once(res, 'drain');
    },
    async end() {
      ws.commit();
      await wb.commit();
    },
  };
}

async function departmentNames(Department: Model<DepartmentDoc>): Promise<(id: string) => string> {
  const names = new Map((await Department.find({}, { name: 1 }).lean()).map((d) => [String(d._id), d.name]));
  return (id) => names.get(id) ?? id;
}

const KPI_FIELDS: readonly (keyof Omit<AllTicketKpis, 'ratings'>)[] = [
  'timelyDispatch',
  'onTimeReply',
  'satisfaction',
  'satisfactionStrict',
  'ratingCoverage',
  'rectificationOnTime',
  'returnRate',
  'extensionRate',
  'onTimeCompletion',
  'repeatComplaints',
];
const KPI_HEADERS: Record<(typeof KPI_FIELDS)[number], string> = {
  timelyDispatch: '及时转办率',
  onTimeReply: '按期回复率',
  satisfaction: '满意率',
  satisfactionStrict: '满意率（不含基本满意）',
  ratingCoverage: '评价覆盖率',
  rectificationOnTime: '差评按期整改率',
  returnRate: '退单率',
  extensionRate: '延期率',
  onTimeCompletion: '按期办结率',
  repeatComplaints: '重复投诉率',
};
export const KPI_COLUMNS: readonly LedgerColumn[] = [
  { key: 'department', header: '承办单位', width: 24 },
  ...KPI_FIELDS.flatMap((f) => [
    { key: `${f}.rate`, header: KPI_HEADERS[f], width: 12 },
    { key: `${f}.n`, header: `${KPI_HEADERS[f]}（分子/分母）`, width: 16 },
  ]),
];

/** One KPI row: each rate as a percentage with one decimal ('' when nothing was due) and n/d. */
export function kpiRow(department: string, k: AllTicketKpis): Record<string, string> {
  const row: Record<string, string> = { department };
  const pct = (r: Ratio): string => (r.rate === null ? '' : `${(r.rate * 100).toFixed(1)}%`);
  for (const f of KPI_FIELDS) {
    row[`${f}.rate`] = pct(k[f]);
    row[`${f}.n`] = `${k[f].numerator}/${k[f].denominator}`;
  }
  return row;
}

export function exportRoutes(api: ApiRouter, deps: ExportRouteDeps): void {
  for (const format of FORMATS) {
    api.add({
      method: 'get',
      path: `/exports/tickets.${format}`,
      tag: 'exports',
      summary:
        `Ticket ledger (工单台账) as ${format}, with the filters of GET /tickets (state, category, urgency, channel, departmentId, number, phone, q, createdFrom, createdTo, deadlineState). Streamed; Chinese headers; departments get their own tickets with phone numbers masked.`,
      roles: ['agent', 'window', 'supervisor', 'admin', 'department'],
      query: ticketExportQuery,
      async handler({ res, query, actor }) {
        const filter = deps.tickets.filterOf(query, actor);
        const name = await departmentNames(deps.Department);
        const ctx = { departmentName: name, utcOffsetMinutes: deps.utcOffsetMinutes };
        // _id order is creation order and is the one sort FerretDB pushes down to SQLite
        const cursor = deps.Ticket.find(filter, LEDGER_PROJECTION).sort({ _id: 1 }).lean<LedgerTicket[]>().cursor({ batchSize: 500 });
        const out = sheetWriter(res, format, '工单台账', LEDGER_COLUMNS, `12345工单台账-${stamp(deps.clock(), deps.utcOffsetMinutes)}`);
        try {
          for await (const t of cursor) await out.add(ledgerRow(t, actor as Actor, ctx));
          await out.end();
        } catch (err) {
          // headers are gone: the client sees a cut-off download, the log says why
          res.destroy(err as Error);
          throw err;
        } finally {
          await cursor.close().catch(() => undefined);
        }
      },
    });

    api.add({
      method: 'get',
      path: `/exports/ticket-kpis.${format}`,
      tag: 'exports',
      summary: `Ticket KPIs (绩效台账) over [from, to) as ${format}: the city total and one row per lead department, as GET /kpis/tickets computes them.`,
      roles: ['supervisor', 'admin', 'department'],
      query: kpiQuery,
      async handler({ res, query, actor }) {
        const now = deps.clock();
        const { from, to } = rangeOf(query, now, deps.utcOffsetMinutes);
        const departmentId = departmentScope(actor as Actor, query.departmentId);
        const report = await ticketKpiReport(deps, { from, to, now }, departmentId, query.source);
        const name = await departmentNames(deps.Department);
        const out = sheetWriter(res, format, '绩效指标', KPI_COLUMNS, `12345绩效台账-${stamp(from, deps.utcOffsetMinutes)}-${stamp(to, deps.utcOffsetMinutes)}`);
        await out.add(kpiRow(departmentId ? name(departmentId) : '全市合计', report.total));
        if (!departmentId) for (const d of report.byDepartment) await out.add(kpiRow(name(d.departmentId), d));
        await out.end();
      },
    });
  }
}

function stamp(d: Date, utcOffsetMinutes: number): string {
  return new Date(d.getTime() + utcOffsetMinutes * 60_000).toISOString().slice(0, 10).replaceAll('-', '');
}
