// Baseline (c): how fast this database takes ledger rows at all: COPY of COPY_ROWS rows into a
// copy of ledger_entries (same columns, indexes and constraints: LIKE … INCLUDING ALL, so it
// follows the service's migrations). Rows are made before the clock starts; the hashes are
// random, since only the database's side is measured. Prints one JSON line: { rows, seconds, … }.
// Env: DATABASE_URL or DATA_DIR, COPY_ROWS, TEMPLATE (an entry's content as JSON).
import { randomBytes, randomUUID } from 'node:crypto'
import { metered } from '../proc.js'
import { COPY_COLUMNS_SQL, copyLine, type EntryContent } from '../ledger-rows.js'
import { connectSql } from '../sql.js'

const rows = Number(process.env.COPY_ROWS)
const template = JSON.parse(process.env.TEMPLATE!) as EntryContent
const CHAINS = 16
const CHUNK = 1000

const chunks: string[] = []
let chunk = ''
const hash = () => randomBytes(32).toString('hex')
for (let i = 0; i < rows; i += 1) {
  const content: EntryContent = {
    ...template,
    id: randomUUID(),
    chain: i % CHAINS,
    seq: Math.floor(i / CHAINS) + 1,
    prevHash: hash(),
    memberId: `C${i % 100_000}`
  }
  chunk += copyLine(content, hash())
  if ((i + 1) % CHUNK === 0 || i === rows - 1) {
    chunks.push(chunk)
    chunk = ''
  }
}

const db = await connectSql({ url: process.env.DATABASE_URL, dataDir: process.env.DATA_DIR })
await db.query('DROP TABLE IF EXISTS bench_copy_entries')
await db.query('CREATE TABLE bench_copy_entries (LIKE ledger_entries INCLUDING ALL)')
// This connection's backend does the parsing and indexing: its CPU is the database's share.
const backend = process.env.DATABASE_URL ? (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid : undefined
const result = await metered(
  process.pid,
  async () => {
    // One transaction, as the fill does; the commit (and its fsync) is inside the clock.
    await db.query('BEGIN')
    const sink = db.copyIn('bench_copy_entries', COPY_COLUMNS_SQL)
    for (const c of chunks) await sink.write(c)
    await sink.end()
    await db.query('COMMIT')
  },
  backend === undefined ? undefined : async () => [backend]
)
await db.query('DROP TABLE bench_copy_entries')
await db.close()
process.stdout.write(
  `${JSON.stringify({ rows, seconds: result.seconds, peakRssMiB: result.peakRssMiB, cpu: result.cpu, bytes: chunks.reduce((n, c) => n + c.length, 0) })}\n`
)
