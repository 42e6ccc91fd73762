// Baseline (b): the naive way to record a decision: validate the body, then one autocommitted
// INSERT of a ledger-like row per request (no chain, no lock), on a pool as large as the
// service's. What the service does on top (decide, chain, hash) should cost less than what
// group commit saves. Env: PORT, and DATABASE_URL + DATABASE_POOL_SIZE, or DATA_DIR for PGlite.
import { createHash, randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { Type } from 'typebox'
import { DecisionRequestSchema, HEALTH_PATH } from './decision-request.js'

type Query = (text: string, values?: unknown[]) => Promise<unknown>

async function connect(): Promise<{ query: Query; close: () => Promise<void> }> {
  if (process.env.DATABASE_URL) {
    const { default: pg } = await import('pg')
    const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_SIZE ?? 10) })
    return { query: (text, values) => pool.query(text, values), close: () => pool.end() }
  }
  const { PGlite } = await import('@electric-sql/pglite')
  const db = await PGlite.create(process.env.DATA_DIR)
  return { query: (text, values) => db.query(text, values), close: () => db.close() }
}

const db = await connect()
await db.query(`CREATE TABLE IF NOT EXISTS bench_naive_entries (
  id uuid PRIMARY KEY,
  member_id text NOT NULL,
  kind text NOT NULL,
  recorded_at timestamptz NOT NULL,
  hash text NOT NULL,
  content jsonb NOT NULL
)`)
await db.query('CREATE INDEX IF NOT EXISTS bench_naive_entries_member_idx ON bench_naive_entries (member_id)')

const app = Fastify({ logger: false })
app.get(HEALTH_PATH, async () => ({ ok: true }))
app.post('/v1/transfers', { schema: { body: DecisionRequestSchema, response: { 201: Type.Object({ id: Type.String() }) } } }, async (request, reply) => {
  const body = request.body as { memberId: string }
  const content = JSON.stringify(body)
  const id = randomUUID()
  await db.query('INSERT INTO bench_naive_entries (id, member_id, kind, recorded_at, hash, content) VALUES ($1, $2, $3, now(), $4, $5)', [
    id,
    body.memberId,
    'decision',
    createHash('sha256').update(content).digest('hex'),
    content
  ])
  return reply.code(201).send({ id })
})
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
process.on(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => db.close())
      .then(() => process.exit(0))
)
