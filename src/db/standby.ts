import { sql, type Kysely } from 'kysely'
import { DomainError } from '../errors.js'
import { sqlState } from './errors.js'

/**
 * What a PostgreSQL server says of itself that a copy made any other way cannot fake by accident:
 * whether it is replaying WAL, the system identifier initdb gave the cluster (a physical standby
 * inherits it through pg_basebackup; a restored dump, a staging copy or another server has its
 * own), and which database of the cluster the connection is in.
 */
export interface ServerIdentity {
  readonly inRecovery: boolean
  readonly systemIdentifier: string
  readonly database: string
}

/** insufficient_privilege: EXECUTE on pg_control_system() was revoked from PUBLIC (it is granted by default). */
const INSUFFICIENT_PRIVILEGE = '42501'

/** pg_control_system() is not executable by the role: said with the one statement that fixes it. */
export class StandbyProofPrivilegeError extends Error {
  override readonly name = 'StandbyProofPrivilegeError'
  constructor(role: string, options?: ErrorOptions) {
    super(
      `${role} may not call pg_control_system(), which proves DATABASE_READ_URL is a standby of DATABASE_URL; as a superuser on the primary run ` +
        `GRANT EXECUTE ON FUNCTION pg_control_system() TO <the role of DATABASE_URL and DATABASE_READ_URL>`,
      options
    )
  }
}

/**
 * @throws StandbyProofPrivilegeError when the role may not call pg_control_system(); the
 * driver's error when the server cannot be reached.
 */
export async function identityOf<DB>(db: Kysely<DB>, what: string): Promise<ServerIdentity> {
  try {
    const { rows } = await sql<{ in_recovery: boolean; system_identifier: string; database: string }>`
      SELECT pg_is_in_recovery() AS in_recovery, (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
        current_database() AS database`.execute(db)
    const row = rows[0]!
    return { inRecovery: row.in_recovery, systemIdentifier: row.system_identifier, database: row.database }
  } catch (err) {
    if (sqlState(err) === INSUFFICIENT_PRIVILEGE) throw new StandbyProofPrivilegeError(`the role of ${what}`, { cause: err })
    throw err
  }
}

/**
 * Why `reader` is not a streaming standby of the primary `primary` describes, or undefined when it
 * is one: it must be in recovery (a promoted replica, a restored backup or any writable server is
 * not), carry the primary's system identifier (another cluster is not a copy of this one) and be
 * the same database of that cluster.
 */
export function standbyMismatch(primary: ServerIdentity, reader: ServerIdentity): string | undefined {
  if (!reader.inRecovery) return 'it is not in recovery (pg_is_in_recovery() is false): a writable server, a promoted replica or a restored copy, not a standby'
  if (reader.systemIdentifier !== primary.systemIdentifier) {
    return `its system identifier ${reader.systemIdentifier} is not the primary's ${primary.systemIdentifier}: another cluster, not a standby of the primary`
  }
  if (reader.database !== primary.database) return `it is database "${reader.database}", the primary's is "${primary.database}"`
  return undefined
}

/** DATABASE_READ_URL did not prove it is a standby of DATABASE_URL: nothing is read from it, nothing signed. */
export class ReaderRefusedError extends DomainError {
  constructor(readonly reason: string) {
    super(
      'reader_not_standby',
      503,
      'Service Unavailable',
      `DATABASE_READ_URL is not a streaming standby of DATABASE_URL (${reason}); nothing was read from it; point it at a standby of the primary or unset it`
    )
  }
}
