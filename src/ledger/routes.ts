import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Readable } from 'node:stream'
import { Type } from 'typebox'
import { InvalidRequestError, NotFoundError } from '../errors.js'
import { AUTHENTICATED_PROBLEMS, Channel, MemberId, StringEnum, Timestamp, Uuid, problems } from '../schemas.js'
import { provisionRecordsCsv } from './provision-csv.js'
import { listProvisionRecords } from './provision-records.js'
import { exportEntries, findEntry, listEntries, verifyLedger } from './repository.js'

const readers = { roles: ['admin', 'ops'] as const }
const tags = ['Ledger']

const LedgerEntrySchema = Type.Object(
  {
    id: Uuid,
    chain: Type.Integer(),
    seq: Type.Integer(),
    prevHash: Type.String(),
    hash: Type.String(),
    recordedAt: Timestamp,
    kind: StringEnum(['decision', 'consent_granted', 'consent_withdrawn', 'suspension_created', 'suspension_lifted']),
    memberId: MemberId,
    clientId: Type.String()
  },
  {
    additionalProperties: true,
    description:
      'The entry exactly as hashed, plus its hash. hash = lowercase hex SHA-256 of the RFC 8785 canonical JSON of the entry ' +
      'without the hash member; prevHash is the hash of the previous entry of the chain (64 zeros for seq 1).'
  }
)

const VerifyFailureSchema = Type.Object({
  entryId: Type.Union([Uuid, Type.Null()]),
  chain: Type.Integer(),
  seq: Type.Integer(),
  problem: Type.String()
})

const CURSOR_PREFIX = 'p:'

function encodeCursor(position: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${position}`, 'utf8').toString('base64url')
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  const position = Number(text.slice(CURSOR_PREFIX.length))
  if (!text.startsWith(CURSOR_PREFIX) || !Number.isSafeInteger(position) || position < 1) {
    throw new InvalidRequestError('invalid_cursor', 'the cursor is not one this service issued')
  }
  return position
}

const ProvisionRecordSchema = Type.Object({
  entryId: Uuid,
  providedAt: Timestamp,
  recipient: Type.Object({ id: Uuid, name: Type.String(), address: Type.String(), representative: Type.String(), category: Type.String() }),
  purpose: Type.String(),
  serviceCategory: Type.String(),
  dataItems: Type.Array(Type.String()),
  method: Type.String(),
  consent: Type.Union([
    Type.Object({ id: Uuid, obtainedAt: Timestamp, method: Type.String(), evidenceRef: Type.String() }),
    Type.Null()
  ]),
  policyVersion: Type.String(),
  retainUntil: Timestamp
})

const ledgerRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/v1/ledger',
    {
      config: { access: readers },
      schema: {
        operationId: 'listLedger',
        summary: 'Ledger entries, newest first',
        description: 'Pass nextCursor back as cursor for the next page; entries appended meanwhile never shift the pages still to come.',
        tags,
        querystring: Type.Object(
          {
            memberId: Type.Optional(MemberId),
            channel: Type.Optional(Channel),
            decision: Type.Optional(StringEnum(['allow', 'deny'])),
            kind: Type.Optional(StringEnum(['decision', 'consent_granted', 'consent_withdrawn', 'suspension_created', 'suspension_lifted'])),
            recipientId: Type.Optional(Uuid),
            contractorId: Type.Optional(Uuid),
            from: Type.Optional(Timestamp),
            to: Type.Optional(Timestamp),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }))
          },
          { additionalProperties: false }
        ),
        response: {
          200: Type.Object({ entries: Type.Array(LedgerEntrySchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          ...problems(...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async (request) => {
      const { limit = 50, cursor, ...filter } = request.query
      const before = cursor === undefined ? undefined : decodeCursor(cursor)
      const page = await listEntries(fastify.database.db, filter, { limit, before })
      return { entries: page.entries, nextCursor: page.more && page.lastPosition !== null ? encodeCursor(page.lastPosition) : null }
    }
  )

  fastify.get(
    '/v1/ledger/verify',
    {
      config: { access: readers },
      schema: {
        operationId: 'verifyLedger',
        summary: 'Recompute every hash chain; report each chain, and the first entry that does not verify',
        description:
          'Every chain is checked even when another is broken: each reports ok, the entries that verified and its head, or its first bad entry and why.',
        tags,
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            entriesChecked: Type.Integer(),
            chains: Type.Array(
              Type.Object({
                chain: Type.Integer(),
                ok: Type.Boolean(),
                length: Type.Integer({ description: 'Entries that verified, from seq 1' }),
                headHash: Type.String({ description: 'Hash of the last entry that verified' }),
                failure: Type.Optional(VerifyFailureSchema)
              })
            ),
            firstFailure: Type.Optional(VerifyFailureSchema)
          }),
          ...problems(...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async () => verifyLedger(fastify.database.db)
  )

  fastify.get(
    '/v1/ledger/export',
    {
      config: { access: readers },
      schema: {
        operationId: 'exportLedger',
        summary: 'Every entry as JSON Lines, in chain and seq order, for re-verification with scripts/verify-ledger-export.mjs',
        tags,
        response: {
          200: { description: 'application/x-ndjson: one entry per line', content: { 'application/x-ndjson': { schema: Type.String() } } },
          ...problems(...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async (_request, reply) => {
      const db = fastify.database.db
      async function* lines() {
        for await (const entry of exportEntries(db)) yield `${JSON.stringify(entry)}\n`
      }
      return reply.type('application/x-ndjson').header('content-disposition', 'attachment; filename="ledger.jsonl"').send(Readable.from(lines()) as never)
    }
  )

  fastify.get(
    '/v1/ledger/:entryId',
    {
      config: { access: readers },
      schema: {
        operationId: 'getLedgerEntry',
        summary: 'One ledger entry',
        tags,
        params: Type.Object({ entryId: Uuid }),
        response: { 200: LedgerEntrySchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
      }
    },
    async (request) => {
      const entry = await findEntry(fastify.database.db, request.params.entryId)
      if (!entry) throw new NotFoundError('ledger entry')
      return entry
    }
  )

  fastify.get(
    '/v1/members/:memberId/provision-records',
    {
      config: { access: readers },
      schema: {
        operationId: 'listProvisionRecords',
        summary: "The member's records of third-party provision (APPI Art. 29, disclosed under Art. 33(5))",
        description: 'JSON by default; ?format=csv gives UTF-8 CSV with a byte-order mark and a header row, for Excel.',
        tags: ['Members'],
        params: Type.Object({ memberId: MemberId }),
        querystring: Type.Object({ format: Type.Optional(StringEnum(['json', 'csv'])) }, { additionalProperties: false }),
        response: {
          200: {
            description: 'The records, newest first',
            content: {
              'application/json': { schema: Type.Object({ memberId: MemberId, records: Type.Array(ProvisionRecordSchema) }) },
              'text/csv': { schema: Type.String() }
            }
          },
          ...problems(...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async (request, reply) => {
      const records = await listProvisionRecords(fastify.database.db, request.params.memberId)
      if (request.query.format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="provision-records.csv"')
          .send(provisionRecordsCsv(records))
      }
      return reply.type('application/json').send({ memberId: request.params.memberId, records })
    }
  )
}

export default ledgerRoutes
