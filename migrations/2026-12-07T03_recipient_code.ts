import { type Kysely } from 'kysely'

/**
 * A recipient's own code, such as a bank's 金融機関コード: the calling systems know their bank by
 * it, not by the service's UUID, and look the recipient up with it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('recipients').addColumn('code', 'text').execute()
  await db.schema.createIndex('recipients_code_idx').on('recipients').columns(['code']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('recipients_code_idx').execute()
  await db.schema.alterTable('recipients').dropColumn('code').execute()
}
