import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { COPY_COLUMNS_SQL, LEDGER_COLUMNS, copyLine, type EntryContent } from './ledger-rows.js'
import type { Templates } from './service.js'
import { metered, type CpuUse } from './proc.js'
import { connectSql, type SqlConnection } from './sql.js'

/** The hashing the measured tree uses, imported from that tree so the fill follows it if it changes. */
type Hashing = typeof import('../../src/ledger/hashing.js')

export async function loadHashing(serviceDir: string): Promise<Hashing> {
  return (await import(pathToFileURL(path.join(serviceDir, 'src', 'ledger', 'hashing.ts')).href)) as Hashing
}

export interface FillOptions {
  readonly target: { url?: string | undefined; dataDir?: string | undefined }
  readonly hashing: Hashing
  readonly templates: Templates
  /** Strings in the templates that belong to the template member, replaced for each fill member. */
  readonly templateMember: string
  readonly templateConsentId: string
  readonly size: number
  readonly entriesPerMember: number
}

export interface FillResult {
  readonly entries: number
  readonly members: number
  readonly seconds: number
  readonly entriesPerSecond: number
  readonly vacuumSeconds: number
  /** During the COPY: this process makes and hashes the rows, PostgreSQL parses and indexes them. */
  readonly cpu: CpuUse
  /** A member whose history has the typical length, for the per-member read figures. */
  readonly sampleMember: string
  readonly sampleMemberEntries: number
}

/** Refuses to fill a ledger_entries that grew a required column this fill does not know how to set. */
async function checkColumns(db: SqlConnection): Promise<void> {
  const rows = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_name = 'ledger_entries' AND table_schema = current_schema()
        AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO' AND is_generated = 'NEVER'`
  )
  const unknown = rows.map((r) => r.column_name).filter((c) => !(LEDGER_COLUMNS as readonly string[]).includes(c))
  if (unknown.length > 0) throw new Error(`ledger_entries has required columns the fill does not set: ${unknown.join(', ')}`)
}

/** A template as text with its member-specific strings as placeholders, so each entry is one replace and one parse. */
function templateText(template: Record<string, unknown>, member: string, consentId: string): string {
  return JSON.stringify(template).replaceAll(member, '\u0001M').replaceAll(consentId, '\u0001C').replaceAll(String(template.recordedAt), '\u0001T')
}

interface Head {
  seq: number
  hash: string
}

/**
 * The fill's entries as COPY lines, in append order, moving `heads` along. Entries go round-robin
 * over the members; a member's first entry grants its consent, every tenth after it is a deny.
 */
function* entryLines(options: FillOptions, heads: Map<number, Head>): Generator<string> {
  const { hashing, size } = options
  const memberCount = Math.max(1, Math.ceil(size / options.entriesPerMember))
  const members = Array.from({ length: memberCount }, (_, j) => memberName(j))
  const chains = members.map((m) => hashing.chainOf(m))
  const consentIds = members.map(() => randomUUID())
  const texts = {
    consent: templateText(options.templates.consent, options.templateMember, options.templateConsentId),
    allow: templateText(options.templates.allow, options.templateMember, options.templateConsentId),
    deny: templateText(options.templates.deny, options.templateMember, options.templateConsentId)
  }
  const start = Date.now()
  let lastMs = -1
  let recordedAt = ''
  for (let i = 0; i < size; i += 1) {
    const j = i % memberCount
    const k = Math.floor(i / memberCount)
    // 100 entries per millisecond: a 10 M ledger spans under two minutes of recordedAt.
    const ms = start + Math.floor(i / 100)
    if (ms !== lastMs) {
      recordedAt = new Date(ms).toISOString()
      lastMs = ms
    }
    const text = k === 0 ? texts.consent : k % 10 === 0 ? texts.deny : texts.allow
    const content = JSON.parse(text.replaceAll('\u0001M', members[j]!).replaceAll('\u0001C', consentIds[j]!).replaceAll('\u0001T', recordedAt)) as EntryContent
    const chain = chains[j]!
    const head = heads.get(chain)
    if (!head) throw new Error(`ledger_heads has no row for chain ${chain}`)
    content.id = randomUUID()
    content.chain = chain
    content.seq = head.seq + 1
    content.prevHash = head.hash
    const hash = hashing.entryHash(content)
    head.seq = content.seq
    head.hash = hash
    yield copyLine(content, hash)
  }
}

const memberName = (j: number) => `F${String(j).padStart(8, '0')}`
const COPY_CHUNK_CHARS = 1 << 20

/**
 * Appends `size` entries to a migrated ledger whose service is stopped, as the service would
 * have written them: each is a template entry the service wrote for the template member, with
 * that member, its consent id and the time replaced, then given the next seq and prevHash of
 * its chain and hashed with the tree's own `entryHash`. COPY inserts (the append-only triggers
 * allow that), and the heads move forward once, in the same transaction.
 */
export async function fillLedger(options: FillOptions): Promise<FillResult> {
  const memberCount = Math.max(1, Math.ceil(options.size / options.entriesPerMember))
  const db = await connectSql(options.target)
  try {
    await checkColumns(db)
    const heads = new Map<number, Head>()
    for (const row of await db.query<{ chain: number; seq: string | number; hash: string }>('SELECT chain, seq, hash FROM ledger_heads')) {
      heads.set(Number(row.chain), { seq: Number(row.seq), hash: row.hash })
    }
    const progressEvery = Math.max(100_000, Math.ceil(options.size / 10))
    // The backend of this connection parses and indexes the rows: its CPU is the database's share.
    const backend = options.target.url ? (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid : undefined
    const copied = await metered(
      process.pid,
      async () => {
        await db.query('BEGIN')
        const sink = db.copyIn('ledger_entries', COPY_COLUMNS_SQL)
        let chunk = ''
        let n = 0
        const t0 = performance.now()
        for (const line of entryLines(options, heads)) {
          chunk += line
          if (chunk.length > COPY_CHUNK_CHARS) {
            await sink.write(chunk)
            chunk = ''
          }
          if (++n % progressEvery === 0) {
            const s = (performance.now() - t0) / 1000
            process.stdout.write(`    fill: ${n} entries in ${s.toFixed(0)} s (${(n / s).toFixed(0)}/s)\n`)
          }
        }
        await sink.write(chunk)
        await sink.end()
        for (const [chain, head] of [...heads].sort((a, b) => a[0] - b[0])) {
          // Heads only move forward (a trigger refuses anything else); untouched chains keep theirs.
          await db.query('UPDATE ledger_heads SET seq = $1, hash = $2 WHERE chain = $3 AND seq < $1', [head.seq, head.hash, chain])
        }
        await db.query('COMMIT')
      },
      backend === undefined ? undefined : async () => [backend]
    )
    // A ledger that size has been vacuumed by autovacuum long since; measuring reads against a
    // freshly loaded table would time hint-bit writes instead.
    const v0 = performance.now()
    await db.query('VACUUM (ANALYZE) ledger_entries')
    const vacuumSeconds = (performance.now() - v0) / 1000
    const sample = Math.floor(memberCount / 2)
    return {
      entries: options.size,
      members: memberCount,
      seconds: copied.seconds,
      entriesPerSecond: options.size / copied.seconds,
      vacuumSeconds,
      cpu: copied.cpu,
      sampleMember: memberName(sample),
      sampleMemberEntries: Math.floor(options.size / memberCount) + (sample < options.size % memberCount ? 1 : 0)
    }
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    await db.close()
  }
}
