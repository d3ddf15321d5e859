// The patch-package fixes to sip@0.0.6 (patches/sip+0.0.6.patch), checked on the installed
// package, so a fresh `npm ci` without the postinstall step fails here.
import { createSocket } from 'node:dgram';
import sip from 'sip';
import { describe, expect, it } from 'vitest';
import { freeUdpPort } from './sipp.js';

describe('sip@0.0.6 patches', { timeout: 5000 }, () => {
  it('defect 2: branch ids come from crypto randomness (no collisions in 200,000 draws)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) seen.add(sip.generateBranch());
    expect(seen.size).toBe(200_000);
    for (const b of [...seen].slice(0, 100)) expect(b).toMatch(/^z9hG4bK[0-9a-f]{24}$/);
  });

  it('defect 6: UDP datagrams over maxMessageSize are dropped before parsing; smaller ones still parsed', async () => {
    const port = await freeUdpPort('127.0.0.2');
    const dropped: number[] = [];
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = sip.create(
        {
          address: '127.0.0.2', port, tcp: false, maxMessageSize: 1000,
          onOversize: (i) => dropped.push(i.size),
          onListening: () => resolve(),
          onError: reject,
        },
        (rq) => {
          received.push(rq.method ?? '');
          s.send(sip.makeResponse(rq, 200, 'OK'));
        },
      );
      stack = s;
    });
    const msg = (pad: number) =>
      Buffer.from(
        'OPTIONS sip:127.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx' + pad + '\r\n' +
          'From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: ' + pad + '\r\nCSeq: 1 OPTIONS\r\n' +
          'X-Pad: ' + ' '.repeat(pad) + 'x\r\nContent-Length: 0\r\n\r\n',
      );
    const c = createSocket('udp4');
    const reply = new Promise<string>((r) => c.once('message', (d) => r(d.toString())));
    await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => c.send(msg(5000), port, '127.0.0.2', () => r()));
    await new Promise<void>((r) => c.send(msg(10), port, '127.0.0.2', () => r()));
    expect(await reply).toMatch(/^SIP\/2\.0 200 OK/);
    c.close();
    stack?.destroy();
    expect(dropped).toEqual([msg(5000).length]);
    expect(received).toEqual(['OPTIONS']);
  });

  it('a UDP bind error goes to onError instead of being an uncaught exception', async () => {
    const taken = createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '127.0.0.2', () => r()));
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
      sip.create({ address: '127.0.0.2', port: taken.address().port, tcp: false, onError: resolve }, () => {});
    });
    taken.close();
    expect(err.code).toBe('EADDRINUSE');
  });
});

let stack: ReturnType<typeof sip.create> | undefined;
