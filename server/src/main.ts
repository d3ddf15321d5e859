/** Server entry point: validate config, build the app, listen, shut down cleanly on signals. */
import { createApp } from './app.js';
import { ConfigError, loadEnv } from './config/env.js';

let env;
try {
  env = loadEnv();
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}

const app = await createApp(env);
const port = await app.listen();
const base = `http://${env.HOST}:${port}`;
app.log.info({ api: `${base}/api`, docs: `${base}/api/docs`, console: `${base}/` }, 'hotline server listening');
console.log(`\n  12345 hotline server\n  API:      ${base}/api\n  API docs: ${base}/api/docs\n  Console:  ${base}/\n`);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    app.log.info({ sig }, 'shutting down');
    app
      .close()
      .then(() => process.exit(0))
      .catch((err) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  });
}
