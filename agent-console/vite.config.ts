import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The console is built into agent-console/dist, which the server serves at `/` (server/src/app.ts).
 * In development (`npm run dev:console`) Vite serves it and proxies the API and the socket to
 * the server on :8080, so cookies stay same-origin in both set-ups.
 */
const target = process.env.HOTLINE_API ?? 'http://127.0.0.1:8080';

// `npm run build:console` sets NODE_ENV=production: a build started from a test run (NODE_ENV=test)
// would otherwise ship React's development bundle and development JSX.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      output: {
        // React and antd change rarely: their own long-cached chunks. ECharts is only loaded by
        // the wallboard (dynamic import), so it never delays the agent view.
        manualChunks(id: string) {
          if (!id.includes('node_modules')) return undefined;
          if (/node_modules\/(echarts|zrender)\//.test(id)) return 'echarts';
          if (/node_modules\/(react|react-dom|scheduler|react-router)\//.test(id)) return 'react';
          if (/node_modules\/socket\.io-client|engine\.io-client|socket\.io-parser|engine\.io-parser/.test(id)) return 'socket';
          return 'vendor';
        },
      },
    },
  },
  server: {
    port: 5173,
    host: '127.0.0.1',
    proxy: {
      '/api': { target, changeOrigin: false },
      '/socket.io': { target, ws: true, changeOrigin: false },
    },
  },
});
