import { sql } from 'kysely'
import type { Db } from './database.js'

/**
 * Tables whose rows the service changes after writing them. Everything else the runtime role may
 * only read and append to: the ledger, its checkpoints, the published policy versions, contracts
 * and inspections are history, never edited.
 */
const UPDATED = [
  'recipients',
  // A member co-op is deactivated; a contractor's country or equivalent-measures system is recorded anew.
  'entities',
  'contractors',
  'consents',
  'suspensions',
  'clients',
  'ledger_heads',
  'idempotency_keys'
] as const
const DELETED = ['idempotency_keys'] as const

/** The user a PostgreSQL URL logs in as. */
export function roleOf(url: string): string {
  const user = decodeURIComponent(new URL(url).username)
  if (user === '') throw new Error('the runtime database URL names no user')
  return user
}

/**
 * Gives the runtime role what the service needs and nothing more, run by the owner after the
 * migrations: SELECT and INSERT on every table of the schema, UPDATE and DELETE only where rows
 * change. The runtime role owns nothing, so it can neither ALTER a table nor disable its
 * triggers, and without the privileges it cannot UPDATE, DELETE or TRUNCATE the ledger: only the
 * owner could rewrite history, and signed checkpoints kept outside catch that.
 * Idempotent: run on every migration.
 */
export async function grantRuntimeRole(db: Db, schema: string, role: string): Promise<void> {
  const who = sql.id(role)
  const where = sql.id(schema)
  const tables = await sql<{ name: string }>`
    SELECT tablename AS name FROM pg_tables WHERE schemaname = ${schema} ORDER BY tablename`.execute(db)
  await sql`GRANT USAGE ON SCHEMA ${where} TO ${who}`.execute(db)
  for (const { name } of tables.rows) {
    const table = sql.id(schema, name)
    await sql`REVOKE ALL ON ${table} FROM ${who}`.execute(db)
    const migrationsOnly = name.startsWith('kysely_migration')
    await (migrationsOnly ? sql`GRANT SELECT ON ${table} TO ${who}` : sql`GRANT SELECT, INSERT ON ${table} TO ${who}`).execute(db)
    if ((UPDATED as readonly string[]).includes(name)) await sql`GRANT UPDATE ON ${table} TO ${who}`.execute(db)
    if ((DELETED as readonly string[]).includes(name)) await sql`GRANT DELETE ON ${table} TO ${who}`.execute(db)
  }
  await sql`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${where} TO ${who}`.execute(db)
}
