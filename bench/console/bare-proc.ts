/**
 * bench/console baseline: a bare socket.io server (no adapter, no authentication, no database,
 * no queue) that puts every client in room `hotline` and broadcasts one message per
 * `POST /emit`. IPC: child → { type: 'ready', port }, { type: 'emit', id, at }.
 */
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Server } from 'socket.io';

const now = (): number => performance.timeOrigin + performance.now();
const http = createServer((req, res) => {
  if (req.method === 'POST' && req.url?.startsWith('/emit')) {
    const id = new URL(req.url, 'http://x').searchParams.get('id') ?? '';
    const at = now();
    process.send!({ type: 'emit', id, at });
    io.to('hotline').emit('ticket.event', { eventId: id, ticketId: id, type: 'ticket.created', at: new Date().toISOString() });
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
    return;
  }
  res.writeHead(404).end();
});
const io = new Server(http, { path: '/socket.io', serveClient: false, cors: { origin: false } });
io.on('connection', (socket) => {
  void socket.join('hotline');
  socket.emit('hello' as never, { rooms: ['hotline'] } as never);
});
http.listen(0, '127.0.0.1', () => {
  const addr = http.address();
  process.send!({ type: 'ready', port: typeof addr === 'object' && addr ? addr.port : 0 });
});
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stop') io.close(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
