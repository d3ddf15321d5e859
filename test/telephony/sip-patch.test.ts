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

  it('sendStateless: a response outside any transaction leaves from the stack\'s own address and port', async () => {
    const port = await freeUdpPort('127.0.0.2');
    const s = await new Promise<ReturnType<typeof sip.create>>((resolve, reject) => {
      const st = sip.create({ address: '127.0.0.2', port, tcp: false, onListening: () => resolve(st), onError: reject }, () => {});
    });
    const peer = createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    try {
      const got = new Promise<{ text: string; from: { address: string; port: number } }>((resolve) =>
        peer.once('message', (b, rinfo) => resolve({ text: b.toString('latin1'), from: { address: rinfo.address, port: rinfo.port } })),
      );
      // the INVITE of a previous run, whose server transaction died with it
      const rq = {
        method: 'INVITE', uri: 'sip:12345@127.0.0.2', version: '2.0',
        headers: {
          via: [{ version: '2.0', protocol: 'UDP', host: '127.0.0.1', port: peer.address().port, params: { branch: 'z9hG4bKold' } }],
          from: { uri: 'sip:13800000000@127.0.0.1', params: { tag: 'a' } }, to: { uri: 'sip:12345@127.0.0.2', params: {} },
          'call-id': 'old-run@127.0.0.1', cseq: { method: 'INVITE', seq: 1 },
        },
      };
      const rs = sip.makeResponse(rq as never, 503, 'Service Unavailable', { headers: { 'retry-after': '20' } } as never);
      s.sendStateless(rs, { address: '127.0.0.1', port: peer.address().port });
      const { text, from } = await got;
      expect(from).toEqual({ address: '127.0.0.2', port });
      expect(text).toMatch(/^SIP\/2\.0 503 Service Unavailable\r\n/);
      expect(text).toMatch(/\r\nRetry-After: 20\r\n/i);
      expect(text).toContain('z9hG4bKold');
    } finally {
      peer.close();
      s.destroy();
    }
  });

  describe('defect 5: non-ASCII text goes out as UTF-8 bytes with a byte Content-Length', () => {
    const name = '市民 张三';
    const sdp =
      'v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=12345 市民热线·来电\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n' +
      'm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
    const latin1 = (s: string) => Buffer.from(s, 'latin1').toString('utf8');

    async function startStack(address: string, onRequest: Parameters<typeof sip.create>[1]) {
      const port = await freeUdpPort(address);
      const s = await new Promise<ReturnType<typeof sip.create>>((resolve, reject) => {
        const st = sip.create({ address, port, tcp: false, onListening: () => resolve(st), onError: reject }, onRequest);
      });
      return { stack: s, port };
    }

    function splitWire(b: Buffer) {
      const i = b.indexOf('\r\n\r\n');
      const head = b.subarray(0, i).toString('utf8');
      const body = b.subarray(i + 4);
      const cl = /\r\nContent-Length: (\d+)/i.exec(head);
      return { head, body, contentLength: cl ? Number(cl[1]) : NaN };
    }

    it('an INVITE with a Chinese display name and SDP session name is valid UTF-8 on the wire', async () => {
      const { stack: s, port } = await startStack('127.0.0.2', () => {});
      const raw = createSocket('udp4');
      await new Promise<void>((r) => raw.bind(0, '127.0.0.1', () => r()));
      const rawPort = raw.address().port;
      const wire = new Promise<Buffer>((r) => raw.once('message', (d) => r(d)));
      const final = new Promise<number>((resolve) =>
        s.send(
          {
            method: 'INVITE',
            uri: `sip:agent@127.0.0.1:${rawPort}`,
            headers: {
              to: { uri: `sip:agent@127.0.0.1:${rawPort}`, params: {} },
              from: { name: `"${name}"`, uri: 'sip:12345@127.0.0.2', params: { tag: 'a1' } },
              'call-id': 'utf8-invite-1',
              cseq: { method: 'INVITE', seq: 1 },
              contact: [{ uri: `sip:12345@127.0.0.2:${port}`, params: {} }],
              'content-type': 'application/sdp',
              subject: '咨询 社保',
            },
            content: sdp,
          },
          (rs) => {
            if ((rs.status ?? 0) >= 200) resolve(rs.status ?? 0);
          },
        ),
      );
      const d = await wire;
      // fatal: throws on any invalid UTF-8 sequence
      const text = new TextDecoder('utf-8', { fatal: true }).decode(d);
      const { head, body, contentLength } = splitWire(d);
      expect(text).toContain(`From: "${name}" <sip:12345@127.0.0.2>;tag=a1\r\n`);
      expect(head).toContain('Subject: 咨询 社保');
      expect(body.equals(Buffer.from(sdp, 'utf8'))).toBe(true);
      expect(contentLength).toBe(Buffer.byteLength(sdp, 'utf8'));
      expect(contentLength).toBeGreaterThan(sdp.length);
      // answer 486 so the client transaction ends (the stack ACKs a non-2xx itself)
      const rq = sip.parse(d)!;
      const ack = new Promise<Buffer>((r) => raw.once('message', (m) => r(m)));
      const rs = sip.stringify(sip.makeResponse(rq, 486, 'Busy Here'));
      raw.send(Buffer.from(rs, 'latin1'), port, '127.0.0.2');
      expect(await final).toBe(486);
      expect((await ack).toString('latin1')).toMatch(/^ACK sip:agent@127\.0\.0\.1:\d+ SIP\/2\.0\r\n/);
      raw.close();
      s.destroy();
    });

    it('incoming parsing is unchanged (latin1 strings of the bytes) and an echoed header keeps its bytes', async () => {
      let received: import('sip').SipMessage | undefined;
      const { stack: s, port } = await startStack('127.0.0.2', (rq) => {
        received = rq;
        s.send(sip.makeResponse(rq, 200, 'OK'));
      });
      const raw = createSocket('udp4');
      await new Promise<void>((r) => raw.bind(0, '127.0.0.1', () => r()));
      const body = '您好，我要投诉噪音';
      const msg = Buffer.from(
        `MESSAGE sip:12345@127.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${raw.address().port};branch=z9hG4bKutf8in\r\n` +
          `From: "${name}" <sip:citizen@127.0.0.1>;tag=c1\r\nTo: <sip:12345@127.0.0.2>\r\nCall-ID: utf8-in-1\r\n` +
          `CSeq: 1 MESSAGE\r\nContent-Type: text/plain;charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        'utf8',
      );
      const reply = new Promise<Buffer>((r) => raw.once('message', (d) => r(d)));
      raw.send(msg, port, '127.0.0.2');
      const d = await reply;
      // as before the patch: the application gets latin1 strings of the raw bytes
      expect(received?.headers.from?.name).toBe(Buffer.from(`"${name}"`, 'utf8').toString('latin1'));
      expect(latin1(received!.headers.from!.name!)).toBe(`"${name}"`);
      expect(latin1(received!.content!)).toBe(body);
      // the 200 echoes From byte for byte (no double encoding)
      const text = new TextDecoder('utf-8', { fatal: true }).decode(d);
      expect(text).toMatch(/^SIP\/2\.0 200 OK\r\n/);
      expect(text).toContain(`From: "${name}" <sip:citizen@127.0.0.1>;tag=c1\r\n`);
      expect(splitWire(d).contentLength).toBe(0);
      raw.close();
      s.destroy();
    });

    it('stringify: per-string rule (text above U+00FF is encoded, bytes pass), Buffer bodies, byte Content-Length', () => {
      const base = {
        method: 'MESSAGE', uri: 'sip:a@127.0.0.1',
        headers: {
          via: [], 'call-id': 'x', cseq: { method: 'MESSAGE', seq: 1 },
          to: { uri: 'sip:a@127.0.0.1', params: {} },
          // pre-encoded bytes (e.g. copied from a received message) next to application text
          from: { name: Buffer.from('"José"', 'utf8').toString('latin1'), uri: 'sip:b@127.0.0.1', params: {} },
          subject: '市民来电',
        },
      };
      const wire = (m: import('sip').SipMessage) => Buffer.from(sip.stringify(m), 'latin1');
      const text = wire({ ...base, content: 'é·市' });
      expect(new TextDecoder('utf-8', { fatal: true }).decode(text)).toContain('From: "José" <sip:b@127.0.0.1>');
      expect(splitWire(text).head).toContain('Subject: 市民来电');
      expect(splitWire(text).body.toString('utf8')).toBe('é·市');
      expect(splitWire(text).contentLength).toBe(Buffer.byteLength('é·市'));
      // a Buffer body goes out as its bytes (typed as string in sip-module.d.ts)
      const bytes = Buffer.from([0x00, 0xff, 0xe5, 0xb8, 0x82, 0x0d, 0x0a]);
      const bin = wire({ ...base, content: bytes as unknown as string });
      expect(splitWire(bin).body.equals(bytes)).toBe(true);
      expect(splitWire(bin).contentLength).toBe(bytes.length);
      // ASCII-only messages are unchanged by the patch
      const ascii = sip.stringify({ ...base, headers: { ...base.headers, from: { uri: 'sip:b@h', params: {} }, subject: 'x' }, content: 'hello' });
      expect(ascii).toContain('Content-Length: 5\r\n\r\nhello');
    });

    it('round trip stack to stack: Chinese headers, body and reason phrase arrive intact', async () => {
      let got: import('sip').SipMessage | undefined;
      const b = await startStack('127.0.0.3', (rq) => {
        got = rq;
        b.stack.send(sip.makeResponse(rq, 200, '已收到'));
      });
      const a = await startStack('127.0.0.2', () => {});
      const body = '工单 12345：路灯不亮，请尽快处理。';
      const rs = await new Promise<import('sip').SipMessage>((resolve) =>
        a.stack.send(
          {
            method: 'MESSAGE',
            uri: `sip:agent@127.0.0.3:${b.port}`,
            headers: {
              to: { name: '"坐席 1001"', uri: `sip:agent@127.0.0.3:${b.port}`, params: {} },
              from: { name: `"${name}"`, uri: 'sip:12345@127.0.0.2', params: { tag: 'rt1' } },
              'call-id': 'utf8-roundtrip-1',
              cseq: { method: 'MESSAGE', seq: 1 },
              'content-type': 'text/plain;charset=utf-8',
            },
            content: body,
          },
          (r) => {
            if ((r.status ?? 0) >= 200) resolve(r);
          },
        ),
      );
      expect(rs.status).toBe(200);
      expect(latin1(rs.reason!)).toBe('已收到');
      expect(latin1(got!.headers.from!.name!)).toBe(`"${name}"`);
      expect(latin1(got!.headers.to!.name!)).toBe('"坐席 1001"');
      expect(got!.headers['content-length']).toBe(Buffer.byteLength(body, 'utf8'));
      expect(latin1(got!.content!)).toBe(body);
      a.stack.destroy();
      b.stack.destroy();
    });
  });
});

let stack: ReturnType<typeof sip.create> | undefined;

describe('defect 9: the unmaintained ws@6 dependency', () => {
  it('is replaced by ws 8 through npm overrides (package.json "overrides": {"sip": {"ws": "^8…"}})', async () => {
    const { createRequire } = await import('node:module');
    const fromSip = createRequire(createRequire(import.meta.url).resolve('sip'));
    const version = (fromSip('ws/package.json') as { version: string }).version;
    expect(Number(version.split('.')[0])).toBeGreaterThanOrEqual(8);
  });
});
