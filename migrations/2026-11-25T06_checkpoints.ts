import { sql, type Kysely } from 'kysely'

/**
 * Signed checkpoints of the ledger's 16 chains, and the record of which checkpoints a verify has
 * walked up to. Both are append-only like the ledger itself: the triggers (the function comes
 * from the ledger migration) refuse UPDATE, DELETE and TRUNCATE even for the owner.
 *
 * `note` is the checkpoint exactly as signed and published (a C2SP signed note); the other
 * columns of ledger_checkpoints are read from it when it is taken, for listing and paging. A
 * verification's `signature` is the service's Ed25519 signature over what it attests, so a row
 * written behind the service's back cannot make a later verify skip entries.
 *
 * Production privileges: the service's role needs only SELECT and INSERT on both tables.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('ledger_checkpoints')
    .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('tree_size', 'bigint', (c) => c.notNull())
    .addColumn('signed_at', 'timestamptz', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .addCheckConstraint('ledger_checkpoints_key_id_hex', sql`key_id ~ '^[0-9a-f]{8}$'`)
    .addCheckConstraint('ledger_checkpoints_tree_size', sql`tree_size >= 0`)
    .execute()

  await db.schema
    .createTable('ledger_checkpoint_verifications')
    .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn('checkpoint_id', 'bigint', (c) => c.notNull().references('ledger_checkpoints.id'))
    .addColumn('verified_at', 'timestamptz', (c) => c.notNull())
    .addColumn('full_walk', 'boolean', (c) => c.notNull())
    .addColumn('entries_checked', 'bigint', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('ledger_checkpoint_verifications_checkpoint_idx').on('ledger_checkpoint_verifications').column('checkpoint_id').execute()

  for (const table of ['ledger_checkpoints', 'ledger_checkpoint_verifications']) {
    await sql`
      CREATE TRIGGER ${sql.id(`${table}_append_only`)} BEFORE UPDATE OR DELETE ON ${sql.id(table)}
      FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()`.execute(db)
    await sql`
      CREATE TRIGGER ${sql.id(`${table}_no_truncate`)} BEFORE TRUNCATE ON ${sql.id(table)}
      FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()`.execute(db)
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('ledger_checkpoint_verifications').execute()
  await db.schema.dropTable('ledger_checkpoints').execute()
}
