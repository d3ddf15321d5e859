/**
 * Where citizen notifications go (issue #6 item 3). One interface, two adapters: the SMS
 * gateway over HTTP (production) and a JSON-lines file (local runs, the default). A sender
 * throws on failure; the BullMQ job retries with backoff (notifications.ts).
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface SmsMessage {
  /** Idempotency key, the same on every retry: the gateway may de-duplicate by it. */
  id: string;
  /** The citizen's phone number. */
  to: string;
  text: string;
  kind: string;
  ticketId: string;
  ticketNumber: string;
}

export interface Sender {
  readonly name: string;
  send(msg: SmsMessage): Promise<void>;
}

/** A failed send; `status` when the gateway answered (non-2xx). */
export class SendError extends Error {
  constructor(
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'SendError';
  }
}

/**
 * POSTs `{id, to, text, kind, ticketNumber}` as JSON to the gateway. A 2xx is delivered;
 * anything else, a timeout or a network error throws (and is retried).
 */
export class HttpSmsSender implements Sender {
  readonly name = 'http';
  constructor(
    private readonly url: string,
    private readonly opts: { timeoutMs: number; token?: string },
  ) {}

  async send(msg: SmsMessage): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'idempotency-key': msg.id,
          ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
        },
        body: JSON.stringify({ id: msg.id, to: msg.to, text: msg.text, kind: msg.kind, ticketNumber: msg.ticketNumber }),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      throw new SendError(`SMS gateway unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
    // drain the body so the connection can be reused
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new SendError(`SMS gateway answered ${res.status}`, res.status);
  }
}

/** Appends one JSON line per message to a file (local runs: read it to see what citizens would get). */
export class FileSender implements Sender {
  readonly name = 'file';
  constructor(readonly path: string) {}

  async send(msg: SmsMessage): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, `${JSON.stringify({ at: new Date().toISOString(), ...msg })}\n`, 'utf8');
  }
}
