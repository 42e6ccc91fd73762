import type { Database } from '../db/database.js'
import { insertClient } from './repository.js'
import { generateToken, hashToken } from './tokens.js'

/** The client a first start on the embedded database makes. */
export const FIRST_ADMIN_ID = 'first-admin'

/**
 * On a fresh embedded database (not one client ever registered) makes an admin client and hands
 * back its token, which is stored only as its hash. Without it a newcomer's `npm start` answered
 * every /v1 call 401, and the CLI, which could make an admin, cannot open the database the
 * service holds. Only the embedded database gets one: on PostgreSQL an admin appears only through
 * BOOTSTRAP_ADMIN_TOKEN or the CLI, never silently. Once any client exists (this one, one of the
 * CLI, a bootstrap admin, revoked or not) it makes nothing, so a restart prints no new token.
 * @returns the new token, or undefined when a client exists already or the database is PostgreSQL.
 */
export async function createFirstAdmin(database: Database, now: Date): Promise<string | undefined> {
  if (!database.capabilities.embedded) return undefined
  return database.transaction(async (tx) => {
    const any = await tx.selectFrom('clients').select('id').limit(1).executeTakeFirst()
    if (any) return undefined
    const token = generateToken()
    await insertClient(tx, {
      id: FIRST_ADMIN_ID,
      name: 'first admin (embedded database)',
      role: 'admin',
      channels: null,
      purposes: null,
      rateLimit: null,
      tokenHash: hashToken(token),
      now
    })
    return token
  })
}

/**
 * What the terminal shows of the first admin: the token, once. It goes to stderr as plain text,
 * never through the logger, so no log line (and no log shipper) ever holds it.
 */
export function firstAdminNotice(token: string): string {
  return [
    '',
    'First start of this embedded database: an admin client was made. Its bearer token is shown this once',
    '(only its hash is kept; it is not in the log):',
    '',
    `    TOKEN=${token}`,
    '',
    'Lost it? Stop the service, then `npx shizenha clients create --name admin --role admin` prints a new one.',
    ''
  ].join('\n')
}
