import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnv } from '../../../server/src/config/env.js';

const good = { MONGODB_URL: 'mongodb://127.0.0.1:27017/hotline', REDIS_URL: 'redis://127.0.0.1:6379', JWT_SECRET: 's'.repeat(32) };

describe('configuration', () => {
  it('applies defaults to a minimal valid environment', () => {
    const env = loadEnv(good);
    expect(env).toMatchObject({ PORT: 8080, QUEUE_PREFIX: '{hotline}', TIME_ZONE: 'Asia/Shanghai', RUN_WORKERS: true });
  });

  it('lists every problem at once, each naming its variable', () => {
    try {
      loadEnv({ MONGODB_URL: 'postgres://x', PORT: 'eighty', JWT_SECRET: 'short', QUEUE_PREFIX: 'hotline', RUN_WORKERS: 'maybe' });
      expect.unreachable('loadEnv accepted a bad environment');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const names = (e as ConfigError).problems.map((p) => p.split(':')[0]);
      expect(names.sort()).toEqual(['JWT_SECRET', 'MONGODB_URL', 'PORT', 'QUEUE_PREFIX', 'REDIS_URL', 'RUN_WORKERS']);
      expect((e as ConfigError).message).toContain('REDIS_URL: is required');
    }
  });

  it('the server process stops with exit 1 and names the bad variable', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
      env: { PATH: process.env.PATH, ...good, PORT: '99999' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('PORT');
    expect(r.stderr).toContain('invalid configuration');
  });
});
