// Runs the real baresip (Debian package baresip-core) as an agent's phone, for the telephony
// tests. Headless: no sound device. Audio source `aufile` (a generated 8 kHz mono WAV), audio
// player and alert `aubridge` (a sink nothing listens to), codec G.711 only, no NAT modules.
// Control and events over `ctrl_tcp` (netstring-framed JSON) on a free loopback TCP port;
// the `menu` module provides the commands (accept, hangup, dial, reginfo, quit, ...).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort } from './sipp.js';

export interface BaresipOptions {
  user: string;
  password: string;
  /** the SIP domain of the AOR (the registrar's realm); default: the registrar's address */
  domain?: string;
  /** where REGISTERs go (used as the account's outbound proxy) */
  registrar: { address: string; port: number };
  /** loopback address for SIP and RTP; must differ from the registrar's (sip defect 1) */
  localAddress: string;
  /** 'auto' answers every incoming call at once */
  answer: 'auto' | 'manual';
  /** 8 kHz mono 16-bit WAV to send as the phone's microphone; a 440 Hz tone when absent */
  audioFile?: string;
  /** REGISTER interval (s); default 600 */
  regint?: number;
  /** resolve start only once the phone has registered (default true) */
  waitForRegistration?: boolean;
  /** display name in From */
  displayName?: string;
  /** ms to wait for the registration result (default 10 s) */
  startTimeoutMs?: number;
}

export interface BaresipEvent {
  event: true;
  type: string;
  class?: string;
  accountaor?: string;
  param?: string;
  direction?: string;
  peeruri?: string;
  id?: string;
  [k: string]: unknown;
}

export interface Baresip {
  /** baresip's SIP (UDP) port */
  sipPort: number;
  /** the Contact URI baresip registers: sip:<user>@<localAddress>:<sipPort> */
  contactAddress: string;
  aor: string;
  /** ctrl_tcp command; resolves to the response's data text (rejects when ok is false) */
  command(cmd: string, params?: string): Promise<string>;
  /** every ctrl_tcp event received so far */
  readonly events: readonly BaresipEvent[];
  /** resolves with the first event (past or future) of this type, e.g. 'CALL_ESTABLISHED' */
  waitForEvent(type: string | RegExp, ms?: number): Promise<BaresipEvent>;
  /** resolves with the match once stdout+stderr (past or future) match */
  waitForOutput(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** everything baresip printed so far */
  readonly output: string;
  stop(): Promise<void>;
}

/** A TCP port free right now on `address`. */
export function freeTcpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, address, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** A mono 16-bit PCM WAV file of a sine tone. */
export function toneWav(seconds: number, hz = 440, sampleRate = 8000): Buffer {
  const n = Math.round(seconds * sampleRate);
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVE', 8);
  b.write('fmt ', 12);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / sampleRate)), 44 + i * 2);
  return b;
}

function config(o: { ip: string; sipPort: number; ctrl: string; audioFile: string }): string {
  return [
    'poll_method epoll',
    // baresip 1.0 takes an IP address here too: SDP and RTP use it instead of the default
    // route's interface address, so media stays on the test's loopback address
    `net_interface ${o.ip}`,
    `sip_listen ${o.ip}:${o.sipPort}`,
    'sip_trans_def udp',
    'call_local_timeout 120',
    'call_max_calls 4',
    'audio_path /usr/share/baresip',
    `audio_source aufile,${o.audioFile}`,
    'audio_player aubridge,sink',
    'audio_alert aubridge,alert',
    'audio_level no',
    'rtp_stats no',
    'rtcp_mux no',
    'jitter_buffer_delay 1-4',
    // a name resolution the loopback test never needs; keeps baresip off the real network
    'dns_server 127.0.0.1:53',
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module aufile.so',
    'module aubridge.so',
    'module_tmp uuid.so',
    'module_tmp account.so',
    'module_app menu.so',
    'module_app ctrl_tcp.so',
    `ctrl_tcp_listen ${o.ctrl}`,
    '',
  ].join('\n');
}

/** netstring framing: "<len>:<payload>," */
function netstring(s: string): Buffer {
  const p = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from(`${p.length}:`), p, Buffer.from(',')]);
}

function netstringReader(onMessage: (s: string) => void): (d: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const colon = buf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(buf.subarray(0, colon).toString());
      if (!Number.isInteger(len) || buf.length < colon + 1 + len + 1) return;
      onMessage(buf.subarray(colon + 1, colon + 1 + len).toString('utf8'));
      buf = buf.subarray(colon + 1 + len + 1);
    }
  };
}

/**
 * baresip's output line for a registration result: group 1 = status of a success
 * ("1001@hotline.test: {0/UDP/v4} 200 OK (server) [1 binding]"), group 2 = status of a failure
 * ("reg: sip:1001@hotline.test: 403 Forbidden (server)").
 */
export const REGISTRATION_RESULT = /\{\d+\/\w+\/v\d\} (2\d\d) [^\n]*|reg: \S+: ([3-6]\d\d) [^\n]*/;

export async function startBaresip(o: BaresipOptions): Promise<Baresip> {
  const dir = await mkdtemp(join(tmpdir(), 'baresip-'));
  const sipPort = await freeUdpPort(o.localAddress);
  const ctrlPort = await freeTcpPort('127.0.0.1');
  const audioFile = o.audioFile ?? join(dir, 'tone.wav');
  if (!o.audioFile) await writeFile(audioFile, toneWav(2));
  const domain = o.domain ?? o.registrar.address;
  const aor = `sip:${o.user}@${domain}`;
  const params = [
    `auth_user=${o.user}`,
    `auth_pass=${o.password}`,
    `outbound="sip:${o.registrar.address}:${o.registrar.port};transport=udp"`,
    `regint=${o.regint ?? 600}`,
    `answermode=${o.answer}`,
    'audio_codecs=PCMU,PCMA',
    'mwi=no',
    'pubint=0',
  ];
  const name = o.displayName ? `"${o.displayName}" ` : '';
  await writeFile(join(dir, 'accounts'), `${name}<${aor};transport=udp>;${params.join(';')}\n`);
  await writeFile(join(dir, 'contacts'), '');
  await writeFile(
    join(dir, 'config'),
    config({ ip: o.localAddress, sipPort, ctrl: `127.0.0.1:${ctrlPort}`, audioFile }),
  );

  const child: ChildProcess = spawn('baresip', ['-f', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited = false;
  const outputWaiters = new Set<() => void>();
  const onOutput = (d: string) => {
    output = (output + d).slice(-200_000);
    for (const w of outputWaiters) w();
  };
  child.stdout!.setEncoding('utf8').on('data', onOutput);
  child.stderr!.setEncoding('utf8').on('data', onOutput);
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      for (const w of outputWaiters) w();
      resolve();
    }),
  );
  child.once('error', (e) => onOutput(`\nspawn error: ${e.message}\n`));

  function waitForOutput(re: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = output.match(re);
        if (m) return done(() => resolve(m));
        if (exited) done(() => reject(new Error(`baresip exited before ${re}:\n${output.slice(-3000)}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`baresip: no ${re} within ${ms} ms:\n${output.slice(-3000)}`))), ms);
      const done = (f: () => void) => {
        clearTimeout(timer);
        outputWaiters.delete(check);
        f();
      };
      outputWaiters.add(check);
      check();
    });
  }

  // ctrl_tcp: connect once it listens (retry while baresip starts)
  const events: BaresipEvent[] = [];
  const eventWaiters = new Set<() => void>();
  const pending = new Map<string, { resolve: (s: string) => void; reject: (e: Error) => void }>();
  let token = 0;
  let sock: Socket | undefined;
  const deadline = Date.now() + (o.startTimeoutMs ?? 10_000);
  try {
    while (!sock) {
      if (exited) throw new Error(`baresip exited:\n${output.slice(-3000)}`);
      try {
        sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(ctrlPort, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        });
      } catch {
        if (Date.now() > deadline) throw new Error(`baresip: ctrl_tcp not listening:\n${output.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (e) {
    child.kill('SIGKILL');
    await exit;
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  sock.on('error', () => {});
  sock.on(
    'data',
    netstringReader((s) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(s) as Record<string, unknown>;
      } catch {
        return;
      }
      if (m.event) {
        events.push(m as BaresipEvent);
        for (const w of eventWaiters) w();
      } else if (m.response) {
        const p = pending.get(String(m.token));
        pending.delete(String(m.token));
        const data = typeof m.data === 'string' ? m.data : '';
        if (m.ok === false) p?.reject(new Error(`baresip command failed: ${data}`));
        else p?.resolve(data);
      }
    }),
  );

  function waitForEvent(type: string | RegExp, ms = 10_000): Promise<BaresipEvent> {
    const matches = (e: BaresipEvent) => (typeof type === 'string' ? e.type === type : type.test(e.type));
    return new Promise((resolve, reject) => {
      const check = () => {
        const e = events.find(matches);
        if (e) done(() => resolve(e));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`baresip: no event ${type} within ${ms} ms; events: ${events.map((e) => e.type).join(', ')}\n${output.slice(-3000)}`))),
        ms,
      );
      const done = (f: () => void) => {
        clearTimeout(timer);
        eventWaiters.delete(check);
        f();
      };
      eventWaiters.add(check);
      check();
    });
  }

  function command(cmd: string, params?: string): Promise<string> {
    const t = String(++token);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(t);
        reject(new Error(`baresip: no answer to ${cmd}`));
      }, 5000);
      pending.set(t, {
        resolve: (s) => (clearTimeout(timer), resolve(s)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      sock!.write(netstring(JSON.stringify({ command: cmd, ...(params !== undefined ? { params } : {}), token: t })));
    });
  }

  const phone: Baresip = {
    sipPort,
    contactAddress: `sip:${o.user}@${o.localAddress}:${sipPort}`,
    aor,
    command,
    get events() {
      return events;
    },
    waitForEvent,
    waitForOutput,
    get output() {
      return output;
    },
    async stop() {
      sock?.destroy();
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exit;
        clearTimeout(killer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };

  if (o.waitForRegistration ?? true) {
    try {
      // baresip registers at once, usually before ctrl_tcp is connected (events are not
      // replayed), so the result is read from its output
      const m = await waitForOutput(REGISTRATION_RESULT, Math.max(1000, deadline - Date.now()));
      if (!m[1]) throw new Error(`baresip: registration failed: ${m[0]}\n${output.slice(-3000)}`);
    } catch (err) {
      await phone.stop();
      throw err;
    }
  }
  return phone;
}
