import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSender, HttpSmsSender, SendError } from '../../../server/src/notify/sender.js';

describe('senders', () => {
  it('the file sender appends one JSON line per message, creating its directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'notify-'));
    try {
      const s = new FileSender(join(dir, 'sub', 'notifications.jsonl'));
      const msg = { id: 'a-dispatched-1', to: '13812345678', text: '您好', kind: 'dispatched', ticketId: 'a', ticketNumber: 'N1' };
      await s.send(msg);
      await s.send({ ...msg, id: 'a-replied-1', kind: 'replied' });
      const lines = (await readFile(join(dir, 'sub', 'notifications.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.id)).toEqual(['a-dispatched-1', 'a-replied-1']);
      expect(lines[0]).toMatchObject({ to: '13812345678', text: '您好' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the HTTP sender fails visibly on an unreachable gateway (so the job retries)', async () => {
    const s = new HttpSmsSender('http://127.0.0.1:9/sms', { timeoutMs: 500 });
    await expect(s.send({ id: 'x', to: '1', text: 't', kind: 'replied', ticketId: 'x', ticketNumber: 'N' })).rejects.toBeInstanceOf(SendError);
  });
});
