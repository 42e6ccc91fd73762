import { Type, type Static } from 'typebox'
import { Timestamp, Uuid } from '../schemas.js'

/**
 * What a caller gets back about an appended entry (a decision's `entry`, a receipt's
 * `ledgerEntry`): enough to fetch it again from GET /v1/ledger/{entryId} and to check its hash.
 */
export const EntryRefSchema = Type.Object({
  id: Uuid,
  chain: Type.Integer({ minimum: 0 }),
  seq: Type.Integer({ minimum: 1, description: 'Position in its chain' }),
  hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: "SHA-256 of the entry's canonical form, lowercase hex" }),
  recordedAt: Timestamp
})
export type EntryRef = Static<typeof EntryRefSchema>
