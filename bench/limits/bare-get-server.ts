// The limit for GET /v1/customers/:id: node:http + pg doing the same two queries the API needs
// (the key by its hash, the customer by id within the key's tenant), nothing else. Run as its own
// process, like the API, by the benchmark.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const server = createServer(async (req, res) => {
  try {
    const key = String(req.headers['x-api-key'] ?? '');
    const hash = createHash('sha256').update(key).digest('hex');
    const { rows: keys } = await pool.query('SELECT merchant_id, environment FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [hash]);
    const scope = keys[0];
    if (!scope) {
      res.writeHead(401).end();
      return;
    }
    const id = req.url!.split('/').pop();
    const { rows } = await pool.query(
      'SELECT * FROM customers WHERE id = $1 AND merchant_id = $2 AND environment = $3 AND deleted_at IS NULL',
      [id, scope.merchant_id, scope.environment],
    );
    if (!rows[0]) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rows[0]));
  } catch (error) {
    res.writeHead(500).end(String(error));
  }
});
server.listen(Number(process.env.PORT), () => process.send?.('listening'));
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
