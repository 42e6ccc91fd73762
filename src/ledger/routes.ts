import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Readable } from 'node:stream'
import { Type } from 'typebox'
import { InvalidRequestError, NotFoundError } from '../errors.js'
import { EXAMPLE } from '../examples.js'
import { AUTHENTICATED_PROBLEMS, Channel, MemberId, StringEnum, Timestamp, Uuid, problemsWith, withExample, withExamples } from '../schemas.js'
import * as examples from './examples.js'
import { jsonListBytes } from './json-bytes.js'
import { provisionRecordsCsv } from './provision-csv.js'
import { listProvisionRecords, ProvisionRecordSchema, ProvisionRecordsQuery, ProvisionRecordsResponse } from './provision-records.js'
import { pagingOf } from './paging.js'
import { findEntry, listEntries } from './repository.js'
import { CheckpointRefSchema, VerifyFailureSchema } from './verify-schemas.js'

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

const CheckpointSchema = Type.Object(
  {
    id: Type.Integer(),
    origin: Type.String({ description: 'The first line of the note: the log name, which is also the key name' }),
    time: Timestamp,
    treeSize: Type.Integer({ description: "Entries covered: the sum of the chains' seqs (line 2 of the note)" }),
    policyVersion: Type.String({ description: 'The policy version in force when it was signed' }),
    chains: Type.Array(Type.Object({ chain: Type.Integer(), seq: Type.Integer(), headHash: Type.String() }), {
      description: 'The head of each of the 16 chains, as the note states it'
    }),
    keyId: Type.String({ description: 'The key ID, 8 hex digits: SHA-256(key name || 0x0A || 0x01 || public key)[:4]' }),
    publicKey: Type.String({ description: 'The signing Ed25519 public key, 32 bytes in base64' }),
    note: Type.String({
      description: 'The checkpoint as signed, a C2SP signed note: keep this exact text. The signature covers everything before the blank line'
    }),
    signatures: Type.Array(
      Type.Object({
        name: Type.String(),
        keyId: Type.String(),
        signature: Type.String({ description: "base64(key ID || 64-byte Ed25519 signature), as on the note's signature line" })
      })
    )
  },
  { description: 'Signed heads of every chain (README: "Signed checkpoints"). Check it with scripts/verify-checkpoint.mjs or any Ed25519 library.' }
)

const SigningKeySchema = Type.Object(
  {
    name: Type.String(),
    keyId: Type.String(),
    algorithm: Type.Literal('Ed25519'),
    publicKey: Type.String({ description: '32 bytes, base64' }),
    publicKeyPem: Type.String({ description: 'SubjectPublicKeyInfo PEM, for OpenSSL and most libraries' }),
    verifierKey: Type.String({ description: "name+keyid+base64(0x01||key), the verifier key format of Go's golang.org/x/mod/sumdb/note" })
  },
  { description: 'The key checkpoints are signed with now' }
)

const CHECKPOINT_CURSOR = 'c:'

const CURSOR_PREFIX = 'p:'

function encodeCursor(position: number, prefix = CURSOR_PREFIX): string {
  return Buffer.from(`${prefix}${position}`, 'utf8').toString('base64url')
}

function decodeCursor(cursor: string, prefix = CURSOR_PREFIX): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  const position = Number(text.slice(prefix.length))
  if (!text.startsWith(prefix) || !Number.isSafeInteger(position) || position < 1) {
    throw new InvalidRequestError('invalid_cursor', 'the cursor is not one this service issued')
  }
  return position
}

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
          200: withExamples(
            Type.Object({ entries: Type.Array(LedgerEntrySchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
            examples.LEDGER_PAGE_EXAMPLES,
            'A page of entries'
          ),
          ...problemsWith({ 400: examples.CURSOR_VALIDATION }, ...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async (request, reply) => {
      const { limit = 50, cursor, ...filter } = request.query
      const before = cursor === undefined ? undefined : decodeCursor(cursor)
      const page = await listEntries(fastify.database.reader, filter, { limit, before })
      const nextCursor = page.more && page.lastPosition !== null ? encodeCursor(page.lastPosition) : null
      // The page as bytes, already JSON (see listEntries); Fastify sends a Buffer as it is, which
      // the typed reply cannot express, hence the cast.
      const body = jsonListBytes('{"entries":[', page.entries, `],"nextCursor":${JSON.stringify(nextCursor)}}`)
      return reply.type('application/json; charset=utf-8').send(body as never)
    }
  )

  fastify.get(
    '/v1/ledger/verify',
    {
      config: { access: readers },
      schema: {
        operationId: 'verifyLedger',
        summary: 'Recompute the hash chains and check them against every signed checkpoint; report each chain, and the first entry that does not verify',
        description:
          'Every chain is checked even when another is broken: each reports ok, how far it verified and its head, or its first bad entry and why. ' +
          'By default the walk starts at the newest checkpoint an earlier verify reached, after checking its heads are still in the ledger, so it costs the ' +
          'entries appended since; full=true walks every entry. Either way every checkpoint not yet verified is checked, and a rewritten chain is reported ' +
          'with the checkpoint it contradicts. One verify runs at a time: concurrent callers share its result. It takes no locks.',
        tags,
        querystring: Type.Object(
          {
            full: Type.Optional(Type.Boolean({ default: false, description: 'Walk every entry from seq 1, not only those since the last verified checkpoint' }))
          },
          { additionalProperties: false }
        ),
        response: {
          200: withExamples(
            Type.Object({
              ok: Type.Boolean(),
              mode: StringEnum(['full', 'incremental']),
              from: Type.Union([CheckpointRefSchema, Type.Null()], {
                description: 'The verified checkpoint the walk started from; null when it started at seq 1'
              }),
              entriesChecked: Type.Integer({ description: 'Entries whose hash this run recomputed' }),
              checkpointsChecked: Type.Integer({ description: 'Signed checkpoints whose heads were checked against the ledger' }),
              chains: Type.Array(
                Type.Object({
                  chain: Type.Integer(),
                  ok: Type.Boolean(),
                  length: Type.Integer({ description: 'The seq up to which the chain verified (entries verified by an earlier run included)' }),
                  headHash: Type.String({ description: 'Hash of the last entry that verified' }),
                  failure: Type.Optional(VerifyFailureSchema)
                })
              ),
              firstFailure: Type.Optional(VerifyFailureSchema)
            }),
            examples.VERIFY_EXAMPLES,
            'What the run checked, chain by chain'
          ),
          ...problemsWith({}, ...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async (request) => fastify.checkpoints.verify(request.query.full === true)
  )

  fastify.get(
    '/v1/ledger/export',
    {
      config: { access: readers },
      schema: {
        operationId: 'exportLedger',
        summary:
          'Every entry as JSON Lines, in chain and seq order, then a signed trailer, for scripts/verify-ledger-export.mjs and scripts/verify-checkpoint.mjs',
        description:
          'One entry per line: its content as hashed, plus hash. The last line is {"trailer": {entries, time, chains: [{chain, length, headHash}], note, keyId, publicKey}}: ' +
          'the heads the export ends at, and note the same heads signed in the checkpoint format, so that an export cut short is detected.',
        tags,
        response: {
          200: {
            description: 'application/x-ndjson: one entry per line, then the trailer',
            content: { 'application/x-ndjson': { schema: Type.String(), examples: examples.EXPORT_EXAMPLES } }
          },
          ...problemsWith({}, ...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async (_request, reply) => {
      // From the standby when there is one: entries never change, so its heads end a true export.
      const { lines } = await fastify.checkpoints.exportLedger(fastify.database.reader, pagingOf(fastify.database.capabilities))
      return reply
        .type('application/x-ndjson')
        .header('content-disposition', 'attachment; filename="ledger.jsonl"')
        .send(Readable.from(lines) as never)
    }
  )

  fastify.get(
    '/v1/ledger/checkpoints',
    {
      config: { access: readers },
      schema: {
        operationId: 'listCheckpoints',
        summary: 'Signed checkpoints, newest first, with the key that signs them',
        description: 'Pass nextCursor back as cursor for the next page.',
        tags,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }))
          },
          { additionalProperties: false }
        ),
        response: {
          200: withExamples(
            Type.Object({
              key: Type.Union([SigningKeySchema, Type.Null()], { description: 'null when no signing key is configured' }),
              checkpoints: Type.Array(CheckpointSchema),
              nextCursor: Type.Union([Type.String(), Type.Null()])
            }),
            examples.CHECKPOINT_PAGE_EXAMPLES,
            'A page of checkpoints and the signing key'
          ),
          ...problemsWith({ 400: examples.CURSOR_VALIDATION }, ...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async (request) => {
      const { limit = 50, cursor } = request.query
      const before = cursor === undefined ? undefined : decodeCursor(cursor, CHECKPOINT_CURSOR)
      const page = await fastify.checkpoints.list({ limit, before })
      const last = page.checkpoints.at(-1)
      const signer = await fastify.checkpoints.publishedSigner()
      return {
        key: signer && {
          name: signer.name,
          keyId: signer.keyId,
          algorithm: 'Ed25519' as const,
          publicKey: signer.publicKey.toString('base64'),
          publicKeyPem: signer.publicKeyPem,
          verifierKey: signer.verifierKey
        },
        checkpoints: page.checkpoints,
        nextCursor: page.more && last ? encodeCursor(last.id, CHECKPOINT_CURSOR) : null
      }
    }
  )

  fastify.get(
    '/v1/ledger/checkpoints/latest',
    {
      config: { access: readers },
      schema: {
        operationId: 'getLatestCheckpoint',
        summary: 'The newest signed checkpoint',
        description: '?format=note answers the signed note itself as text/plain, ready to be kept as a file.',
        tags,
        querystring: Type.Object({ format: Type.Optional(StringEnum(['json', 'note'])) }, { additionalProperties: false }),
        response: {
          200: {
            description: 'The newest checkpoint',
            content: {
              'application/json': { schema: CheckpointSchema, examples: examples.CHECKPOINT_EXAMPLES },
              'text/plain': { schema: Type.String(), examples: examples.CHECKPOINT_NOTE_EXAMPLES }
            }
          },
          ...problemsWith({ 404: examples.CHECKPOINT_NOT_FOUND }, ...AUTHENTICATED_PROBLEMS, 404)
        }
      }
    },
    async (request, reply) => {
      const latest = await fastify.checkpoints.latest()
      if (!latest) throw new NotFoundError('a checkpoint')
      if (request.query.format === 'note') return reply.type('text/plain; charset=utf-8').send(latest.note)
      return reply.type('application/json').send(latest)
    }
  )

  fastify.post(
    '/v1/ledger/checkpoints',
    {
      config: { access: { roles: ['admin', 'ops'] as const } },
      schema: {
        operationId: 'createCheckpoint',
        summary: 'Sign the heads of every chain now',
        description:
          '503 checkpoints_unavailable when no signing key is configured; 409 ledger_rewritten when the ledger no longer holds a head the latest checkpoint signed (nothing is signed then).',
        tags,
        response: {
          201: withExamples(CheckpointSchema, examples.CHECKPOINT_EXAMPLES, 'The checkpoint, signed now'),
          ...problemsWith({ 409: examples.CHECKPOINT_CONFLICT, 503: examples.CHECKPOINT_UNAVAILABLE }, ...AUTHENTICATED_PROBLEMS, 409, 503)
        }
      }
    },
    async (_request, reply) => reply.code(201).send(await fastify.checkpoints.take())
  )

  fastify.get(
    '/v1/ledger/:entryId',
    {
      config: { access: readers },
      schema: {
        operationId: 'getLedgerEntry',
        summary: 'One ledger entry',
        tags,
        params: Type.Object({ entryId: withExample(Uuid, EXAMPLE.entryId) }),
        response: {
          200: withExamples(LedgerEntrySchema, examples.LEDGER_ENTRY_EXAMPLES, 'The entry as hashed, with its hash'),
          ...problemsWith({ 400: examples.ENTRY_ID_VALIDATION, 404: examples.ENTRY_NOT_FOUND }, ...AUTHENTICATED_PROBLEMS, 404)
        }
      }
    },
    async (request) => {
      const entry = await findEntry(fastify.database.reader, request.params.entryId)
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
        description:
          'JSON by default; ?format=csv gives UTF-8 CSV with a byte-order mark and a header row, for Excel. Dates in Japan time with the ' +
          'ledger instant beside them, labels in Japanese (?lang=en for English), the member id on every CSV row, and whether APPI Art. 29 ' +
          'requires each record or it is kept by choice (?include=all adds the statutory exceptions).',
        tags: ['Members'],
        params: Type.Object({ memberId: MemberId }),
        querystring: ProvisionRecordsQuery,
        response: {
          200: {
            description: 'The records, newest first',
            content: {
              'application/json': { schema: ProvisionRecordsResponse, examples: examples.PROVISION_RECORDS_EXAMPLES },
              'text/csv': { schema: Type.String(), examples: examples.PROVISION_RECORDS_CSV_EXAMPLES }
            }
          },
          ...problemsWith({}, ...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async (request, reply) => {
      const { format, lang: language = 'ja', include = 'third_party', providerId = request.client!.entityId } = request.query
      const records = await listProvisionRecords(fastify.database.reader, request.params.memberId, {
        language,
        include,
        providerId: providerId === 'all' ? null : providerId
      })
      if (format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="provision-records.csv"')
          .send(provisionRecordsCsv(records, language))
      }
      // Each record serialized on its own with its schema (as the route's serializer would) and the
      // answer sent as bytes, as the ledger page is (see jsonListBytes); Fastify sends a Buffer as
      // it is, which the typed reply cannot express, and its serializer's types want plain records,
      // hence the casts. The serializer is compiled once per route, not per request.
      const serialize = reply.compileSerializationSchema(ProvisionRecordSchema as unknown as Record<string, unknown>)
      const body = jsonListBytes(
        `{"memberId":${JSON.stringify(request.params.memberId)},"records":[`,
        records.map((record) => Buffer.from(serialize(record as unknown as Record<string, unknown>))),
        ']}'
      )
      return reply.type('application/json; charset=utf-8').send(body as never)
    }
  )
}

export default ledgerRoutes
