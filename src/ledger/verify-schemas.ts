import { Type, type Static } from 'typebox'
import { Timestamp, Uuid } from '../schemas.js'

/** The checkpoint a failure breaks: its head is no longer in the ledger as it signed it. */
export const CheckpointRefSchema = Type.Object({ id: Type.Integer(), time: Timestamp, treeSize: Type.Integer() })
export type CheckpointRef = Static<typeof CheckpointRefSchema>

/** The first entry that does not verify, as verify answers it. */
export const VerifyFailureSchema = Type.Object({
  entryId: Type.Union([Uuid, Type.Null()]),
  chain: Type.Integer({ description: '-1 for a failure of no one chain: a checkpoint that does not open, rows outside every chain' }),
  seq: Type.Integer(),
  problem: Type.String(),
  checkpoint: Type.Optional({
    ...CheckpointRefSchema,
    description: 'The signed checkpoint this failure contradicts: history was rewritten after it was signed'
  })
})
export type VerifyFailure = Static<typeof VerifyFailureSchema>
