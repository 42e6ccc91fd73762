/**
 * Rows of ledger_entries in COPY's text format, from an entry's content as the service hashed it.
 * The columns beside the content are read from it, as the service's writer fills them, so the
 * verifier's column-against-content check passes.
 */
import { copyTextLine } from '../../src/db/copy-in.js'
import { ENTRY_COLUMNS } from '../../src/ledger/writer.js'

export const LEDGER_COLUMNS = ENTRY_COLUMNS

export type EntryContent = Record<string, unknown> & {
  id: string
  chain: number
  seq: number
  prevHash: string
  recordedAt: string
  kind: string
  memberId: string
  clientId: string
}

/** A value of the content as a COPY field: absent is NULL, a string or number as itself, anything else its JSON. */
function field(value: unknown): string | number | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'string' || typeof value === 'number') return value
  return typeof value === 'bigint' || typeof value === 'boolean' ? String(value) : JSON.stringify(value)
}

/** One line (with its newline) for `COPY ledger_entries (LEDGER_COLUMNS) FROM STDIN`. */
export function copyLine(content: EntryContent, hash: string, contentText = JSON.stringify(content)): string {
  return copyTextLine(
    [
      content.id,
      content.chain,
      content.seq,
      content.prevHash,
      hash,
      content.recordedAt,
      content.kind,
      content.memberId,
      content.clientId,
      content.channel,
      content.decision,
      content.recipientId,
      content.contractorId,
      contentText
    ].map(field)
  )
}

export const COPY_COLUMNS_SQL = LEDGER_COLUMNS.join(', ')
