import { sql, type Kysely } from 'kysely'

/** An optional per-client limit in requests per minute; null (every existing client) means not throttled. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('clients')
    .addColumn('rate_limit', 'integer', (c) => c.check(sql`rate_limit >= 1`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clients').dropColumn('rate_limit').execute()
}
