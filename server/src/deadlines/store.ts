/**
 * The data behind deadlines, kept in MongoDB and cached per process: local calendar overrides
 * (a city adds a local holiday or working day), versioned SLA policy tables, and the department
 * hierarchy for escalation. `context()` hands the state machine a consistent, synchronous view.
 * Caches refresh every `refreshMs` and at once on this instance's own edits.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import type { DirectoryModels } from '../directory/model.js';
import type { MachineContext } from '../tickets/machine.js';
import type { Category, Urgency } from '../tickets/vocabulary.js';
import type { Calendar } from './calendar.js';
import { officialDay, type DayInfo } from './holidays.js';
import { DEFAULT_POLICY_VERSION, defaultPolicyTable, resolvePolicy, type PolicyTable, type TicketPolicy } from './policy.js';

export interface OverrideDoc {
  _id: string; // YYYY-MM-DD
  working: boolean;
  name: string;
  updatedBy: string;
  updatedAt: Date;
}

export interface PolicyDoc {
  _id: number; // version
  table: PolicyTable;
  note: string | null;
  createdBy: string;
  createdAt: Date;
}

const overrideSchema = new Schema<OverrideDoc>(
  {
    _id: { type: String, required: true },
    working: { type: Boolean, required: true },
    name: { type: String, required: true },
    updatedBy: { type: String, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false },
);
const policySchema = new Schema<PolicyDoc>(
  {
    _id: { type: Number, required: true },
    table: { type: Schema.Types.Mixed, required: true },
    note: { type: String, default: null },
    createdBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, minimize: false },
);

export interface DeadlineModels {
  Override: Model<OverrideDoc>;
  Policy: Model<PolicyDoc>;
}
export const deadlineModels = (conn: Connection): DeadlineModels => ({
  Override: conn.model<OverrideDoc>('CalendarOverride', overrideSchema, 'calendar_overrides'),
  Policy: conn.model<PolicyDoc>('SlaPolicy', policySchema, 'sla_policies'),
});

export interface DeadlineStoreOptions {
  utcOffsetMinutes: number;
  officeHours: [number, number][];
  refreshMs?: number;
}

const isDup = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === 11000;

export class DeadlineStore {
  private overrides = new Map<string, OverrideDoc>();
  private policy: { version: number; table: PolicyTable } = { version: DEFAULT_POLICY_VERSION, table: defaultPolicyTable() };
  private parents = new Map<string, string | null>();
  private timer: NodeJS.Timeout | null = null;
  readonly calendar: Calendar;

  constructor(
    private readonly m: DeadlineModels,
    private readonly dir: DirectoryModels,
    private readonly opts: DeadlineStoreOptions,
  ) {
    this.calendar = {
      utcOffsetMinutes: opts.utcOffsetMinutes,
      officeHours: opts.officeHours,
      isWorkingDay: (ymd) => this.day(ymd).working,
    };
  }

  /** Load everything; the built-in defaults become policy version 1 if none is stored. */
  async start(): Promise<void> {
    try {
      await this.m.Policy.create({ _id: DEFAULT_POLICY_VERSION, table: defaultPolicyTable(), note: 'built-in defaults (HOTLINE-RULES.md)', createdBy: 'system', createdAt: new Date() });
    } catch (e) {
      if (!isDup(e)) throw e;
    }
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.opts.refreshMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    const [overrides, latest, depts] = await Promise.all([
      this.m.Override.find({}).lean<OverrideDoc[]>(),
      this.m.Policy.findOne({}).sort({ _id: -1 }).lean<PolicyDoc>(),
      this.dir.Department.find({}, { parentId: 1 }).lean(),
    ]);
    this.overrides = new Map(overrides.map((o) => [o._id, o]));
    if (latest) this.policy = { version: latest._id, table: latest.table };
    this.parents = new Map(depts.map((d) => [d._id, d.parentId ?? null]));
  }

  day(ymd: string): DayInfo {
    const o = this.overrides.get(ymd);
    return o ? { date: ymd, working: o.working, reason: `local: ${o.name}` } : officialDay(ymd);
  }

  policyFor(category: Category, urgency: Urgency): TicketPolicy {
    return resolvePolicy(this.policy.table, this.policy.version, category, urgency);
  }

  currentPolicy(): { version: number; table: PolicyTable } {
    return this.policy;
  }

  ancestorsOf(departmentId: string): string[] {
    const out: string[] = [];
    let p = this.parents.get(departmentId) ?? null;
    while (p && !out.includes(p) && out.length < 10) {
      out.push(p);
      p = this.parents.get(p) ?? null;
    }
    return out;
  }

  context(): MachineContext {
    return { calendar: this.calendar, policyFor: (c, u) => this.policyFor(c, u), ancestorsOf: (d) => this.ancestorsOf(d) };
  }

  async setOverride(ymd: string, working: boolean, name: string, by: string): Promise<OverrideDoc> {
    const doc = await this.m.Override.findOneAndUpdate(
      { _id: ymd },
      { $set: { working, name, updatedBy: by, updatedAt: new Date() } },
      { upsert: true, returnDocument: 'after' },
    ).lean<OverrideDoc>();
    await this.refresh();
    return doc!;
  }

  async deleteOverride(ymd: string): Promise<boolean> {
    const r = await this.m.Override.deleteOne({ _id: ymd });
    await this.refresh();
    return r.deletedCount > 0;
  }

  listOverrides(): OverrideDoc[] {
    return [...this.overrides.values()].sort((a, b) => a._id.localeCompare(b._id));
  }

  /** Publish a new policy version (versions are claimed by unique insert, so two admins cannot collide). */
  async publishPolicy(table: PolicyTable, note: string | null, by: string): Promise<PolicyDoc> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const latest = await this.m.Policy.findOne({}).sort({ _id: -1 }).lean<PolicyDoc>();
      const doc: PolicyDoc = { _id: (latest?._id ?? 0) + 1, table, note, createdBy: by, createdAt: new Date() };
      try {
        await this.m.Policy.create(doc);
        await this.refresh();
        return doc;
      } catch (e) {
        if (!isDup(e)) throw e;
      }
    }
    throw new Error('could not claim a policy version');
  }

  async policyHistory(): Promise<PolicyDoc[]> {
    return this.m.Policy.find({}).sort({ _id: -1 }).limit(50).lean<PolicyDoc[]>();
  }
}

/** Minutes east of UTC for an IANA zone now (Asia/Shanghai → 480; China has no DST). */
export function utcOffsetOf(timeZone: string, at = new Date()): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).formatToParts(at);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  return Math.round((local - Math.floor(at.getTime() / 60_000) * 60_000) / 60_000);
}
