/**
 * The benchmark's yardstick: the thinnest Node HTTP hop in front of LM Studio.
 * It reads the request body, sends it to `<upstream>/chat/completions` over a
 * keep-alive undici Pool and returns the answer as is: no routing, validation,
 * logging or metrics. Whatever the service costs beyond this is its own overhead.
 *   tsx test/bench/passthrough.ts --port 9000 --upstream http://127.0.0.1:1234/v1
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    upstream: { type: 'string' },
  },
});
if (values.upstream === undefined) {
  console.error('usage: passthrough --port N --upstream http://host:port/v1');
  process.exit(2);
}
const upstream = new URL(values.upstream);
const path = `${upstream.pathname.replace(/\/+$/, '')}/chat/completions`;
const pool = new Pool(upstream.origin, { connections: 256, keepAliveTimeout: 10_000 });

const server = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', async () => {
    try {
      const answer = await pool.request({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        body: Buffer.concat(parts),
      });
      const body = Buffer.from(await answer.body.arrayBuffer());
      res.writeHead(answer.statusCode, {
        'content-type': 'application/json',
        'content-length': body.length,
      });
      res.end(body);
    } catch (error) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String(error) }));
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  console.log(`passthrough listening on http://127.0.0.1:${port}`);
});
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
