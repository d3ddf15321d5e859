// What a telephony instance must remember across a crash: its calls in progress, so the next run
// of the same instance can end them cleanly (BYE both parties, close the call records) instead of
// leaving phones in dead calls and records open forever (issue #4 item 9). One Redis hash per
// instance; the call relay writes when the call is offered, when an agent's phone alerts, on
// answer, re-INVITE and transfer, and deletes on end.
import type { Redis } from 'ioredis';
import type { SipAor, SipVia } from 'sip';
import type { Leg } from './dialog.js';

export interface Snapshot {
  callId: string;
  line: string;
  /** set once answered: both dialogs, enough to send BYE on each */
  callerLeg?: Leg;
  peerLeg?: Leg;
  /** while not answered: what a final response to the caller's INVITE needs */
  callerInvite?: { via: SipVia[]; from: SipAor; to: SipAor; cseq: number; localTag: string };
  /** an agent's phone alerting for the call: enough to CANCEL that INVITE and ACK its 487 */
  ring?: { uri: string; via: SipVia; from: SipAor; to: SipAor; callId: string; cseq: number; remoteTag: string | null };
}

export interface DialogSnapshots {
  save(s: Snapshot): Promise<void>;
  remove(callId: string): Promise<void>;
  /** every snapshot left, removed as they are read (used once at start-up) */
  takeAll(): Promise<Snapshot[]>;
}

export class RedisDialogSnapshots implements DialogSnapshots {
  constructor(
    private readonly redis: Redis,
    /** e.g. `{hotline}:telephony:<instance>:calls` */
    private readonly key: string,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  async save(s: Snapshot): Promise<void> {
    try {
      await this.redis.hset(this.key, s.callId, JSON.stringify(s));
    } catch (e) {
      this.onError(e);
    }
  }

  async remove(callId: string): Promise<void> {
    try {
      await this.redis.hdel(this.key, callId);
    } catch (e) {
      this.onError(e);
    }
  }

  async takeAll(): Promise<Snapshot[]> {
    const all = await this.redis.hgetall(this.key);
    const ids = Object.keys(all);
    if (ids.length > 0) await this.redis.hdel(this.key, ...ids);
    const out: Snapshot[] = [];
    for (const v of Object.values(all)) {
      try {
        out.push(JSON.parse(v) as Snapshot);
      } catch {
        /* a corrupt entry cannot be ended; skip it */
      }
    }
    return out;
  }
}
