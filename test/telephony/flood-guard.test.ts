// The pieces the registrar and the call relay share: the per-source request budget (FloodGuard)
// and the set of addresses that are the adapter itself (a contact or gateway naming one of them
// would send our own INVITEs back to us: TELEPHONY-NOTES defect 1).
import { describe, expect, it } from 'vitest';
import { FloodGuard } from '../../telephony/src/flood-guard.js';
import { ownAddressSet } from '../../telephony/src/gateways.js';

describe('FloodGuard', () => {
  it('a source over its budget is refused and reported once per 10 s; other and trusted sources go on', async () => {
    let clock = 1_000_000;
    const reports: string[] = [];
    const g = new FloodGuard({ perSecond: 5, trustedSources: ['10.0.0.9'] }, (source, method) => reports.push(`${source} ${method}`), () => clock);
    const spend = async (source: string, n: number) => {
      let over = 0;
      for (let i = 0; i < n; i++) if (await g.over(source, 'REGISTER')) over++;
      return over;
    };
    expect(await spend('10.0.0.1', 20)).toBe(15);
    expect(reports).toEqual(['10.0.0.1 REGISTER']); // 15 refusals, one report
    expect(await spend('10.0.0.2', 5)).toBe(0); // budgets are per source
    expect(await spend('10.0.0.9', 100)).toBe(0); // the SBC is never limited
    expect(g.applies('10.0.0.9')).toBe(false);
    clock += 11_000;
    await spend('10.0.0.1', 20); // refused again later (its 1 s window may or may not have turned)
    expect(reports.filter((r) => r.startsWith('10.0.0.1'))).toHaveLength(2);
  });

  it('perSecond 0 turns limiting off', async () => {
    const g = new FloodGuard({ perSecond: 0 }, () => {});
    expect(g.applies('10.0.0.1')).toBe(false);
    for (let i = 0; i < 100; i++) expect(await g.over('10.0.0.1', 'INVITE')).toBe(false);
  });
});

describe('ownAddressSet', () => {
  const interfaces = () => ['127.0.0.1', '10.1.2.3'];

  it('a loopback address is also reached as localhost; names are compared in lower case', () => {
    const own = ownAddressSet(['127.0.0.1:5060', 'SBC.Example:5080'], interfaces);
    expect(own.has('127.0.0.1:5060')).toBe(true);
    expect(own.has('localhost:5060')).toBe(true);
    expect(own.has('sbc.example:5080')).toBe(true);
    expect(own.has('127.0.0.1:5070')).toBe(false); // a phone on our host, another port: not us
    expect(own.has('10.1.2.3:5060')).toBe(false); // we listen on loopback only
  });

  it('listening on every interface (0.0.0.0): each local interface address with our port is us', () => {
    const own = ownAddressSet(['0.0.0.0:5060'], interfaces);
    for (const a of ['0.0.0.0:5060', '127.0.0.1:5060', '10.1.2.3:5060', 'localhost:5060']) expect(own.has(a)).toBe(true);
    expect(own.has('10.1.2.4:5060')).toBe(false);
  });
});
