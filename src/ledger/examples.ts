import { createHash, createPrivateKey } from 'node:crypto'
import { DECISION_EXAMPLE_REQUESTS, decidedExample } from '../decision-examples.js'
import { NotFoundError, InvalidRequestError } from '../errors.js'
import { EXAMPLE, EXAMPLE_CONSENT, EXAMPLE_ENTRY, EXAMPLE_RECIPIENT } from '../examples.js'
import { problemExample, validationExample, type Examples, type ProblemBody } from '../schemas.js'
import { checkpointText, parseNote } from './checkpoints.js'
import { CheckpointSigner } from './checkpoints-key.js'
import { CheckpointsUnavailableError, LedgerRewrittenError } from './checkpoints-service.js'
import { provisionRecordsCsv } from './provision-csv.js'
import type { ProvisionRecord } from './provision-records.js'
import { FEDERATION } from '../policy/parties.js'

/**
 * The examples of the ledger routes, drawn from the example world of src/examples.ts: the
 * example third-party transfer (billing through the member's bank) as the ledger keeps it, its
 * provision record, and a signed checkpoint.
 */

const ZERO_HASH = '0'.repeat(64)
const THIRD_PARTY = DECISION_EXAMPLE_REQUESTS.third_party
const { reasons, obligations, consentId, providerDetails } = decidedExample(THIRD_PARTY)
const { message: _message, ...keptProviderDetails } = providerDetails!

/** The example transfer as GET /v1/ledger/{entryId} answers it: the content as hashed, and the hash. */
const DECISION_ENTRY = {
  id: EXAMPLE_ENTRY.id,
  chain: EXAMPLE_ENTRY.chain,
  seq: EXAMPLE_ENTRY.seq,
  prevHash: EXAMPLE.prevHash,
  hash: EXAMPLE_ENTRY.hash,
  recordedAt: EXAMPLE_ENTRY.recordedAt,
  kind: 'decision',
  clientId: EXAMPLE.clientId,
  providerId: FEDERATION.id,
  clientName: '請求システム',
  provider: { id: FEDERATION.id, kind: FEDERATION.kind, name: FEDERATION.name },
  action: 'transfer',
  ...THIRD_PARTY,
  decision: 'allow',
  reasons,
  obligations,
  consentId,
  providerDetails: keptProviderDetails,
  policyVersion: EXAMPLE.policyVersion,
  recipient: { id: EXAMPLE.recipientId, ...EXAMPLE_RECIPIENT, country: 'JP', active: true, createdAt: EXAMPLE.createdAt, updatedAt: EXAMPLE.createdAt },
  consent: {
    id: EXAMPLE.consentId,
    ...EXAMPLE_CONSENT,
    obtainedAt: new Date(EXAMPLE_CONSENT.obtainedAt).toISOString(),
    recipientId: null,
    dataItems: null,
    policyVersion: EXAMPLE.policyVersion
  }
}

/** The example grant of consent, the entry before the transfer on the member's chain. */
const CONSENT_ENTRY = {
  id: 'f7ea53a9-6b3f-4c43-a9fd-d792f36d87af',
  chain: EXAMPLE_ENTRY.chain,
  seq: EXAMPLE_ENTRY.seq - 1,
  prevHash: '5ccb7137bed625d7a07f17d08529d8de13fa5f948b2378e86a241556a55b647c',
  hash: EXAMPLE.prevHash,
  recordedAt: EXAMPLE.createdAt,
  kind: 'consent_granted',
  memberId: EXAMPLE.memberId,
  clientId: 'bootstrap-admin',
  providerId: FEDERATION.id,
  clientName: 'bootstrap admin',
  consentId: EXAMPLE.consentId,
  recipientCategory: EXAMPLE_CONSENT.recipientCategory,
  recipientId: null,
  dataItems: null,
  obtainedAt: new Date(EXAMPLE_CONSENT.obtainedAt).toISOString(),
  method: EXAMPLE_CONSENT.method,
  evidenceRef: EXAMPLE_CONSENT.evidenceRef,
  policyVersion: EXAMPLE.policyVersion
}

export const LEDGER_PAGE_EXAMPLES: Examples = {
  page: {
    summary: 'The two newest entries; pass nextCursor back as cursor for the next page',
    value: { entries: [DECISION_ENTRY, CONSENT_ENTRY], nextCursor: 'cDo0MQ' }
  }
}

export const LEDGER_ENTRY_EXAMPLES: Examples = {
  decision: { summary: 'The example third-party transfer, as hashed', value: DECISION_ENTRY },
  consent_granted: { summary: 'The grant of the consent it relied on', value: CONSENT_ENTRY }
}

/** The heads of the 16 chains when only the example member's chain has entries. */
const HEADS = Array.from({ length: 16 }, (_, chain) =>
  chain === EXAMPLE_ENTRY.chain ? { chain, seq: EXAMPLE_ENTRY.seq, headHash: EXAMPLE_ENTRY.hash } : { chain, seq: 0, headHash: ZERO_HASH }
)

export const VERIFY_EXAMPLES: Examples = {
  ok: {
    summary: 'Every chain verifies (incremental: from the last verified checkpoint)',
    value: {
      ok: true,
      mode: 'incremental',
      from: { id: 7, time: '2026-11-25T00:00:00.000Z', treeSize: 40 },
      entriesChecked: 2,
      checkpointsChecked: 1,
      chains: HEADS.map(({ chain, seq, headHash }) => ({ chain, ok: true, length: seq, headHash }))
    }
  },
  broken: {
    summary: 'An entry was altered after it was recorded',
    value: {
      ok: false,
      mode: 'full',
      from: null,
      entriesChecked: 41,
      checkpointsChecked: 1,
      chains: HEADS.map(({ chain, seq, headHash }) =>
        chain === EXAMPLE_ENTRY.chain
          ? {
              chain,
              ok: false,
              length: seq - 1,
              headHash: EXAMPLE.prevHash,
              failure: { entryId: EXAMPLE_ENTRY.id, chain, seq, problem: 'the content does not match its hash' }
            }
          : { chain, ok: true, length: seq, headHash }
      ),
      firstFailure: { entryId: EXAMPLE_ENTRY.id, chain: EXAMPLE_ENTRY.chain, seq: EXAMPLE_ENTRY.seq, problem: 'the content does not match its hash' }
    }
  }
}

/**
 * A real signed note of the heads above, by a key made for the examples alone (its seed is the
 * public text below, so it stands for nothing): the signature verifies with the example key, as
 * a kept checkpoint does with the service's. Ed25519 signatures are deterministic, so the
 * document stays the same from build to build.
 */
const EXAMPLE_SIGNER = new CheckpointSigner(
  'shizenha.example/audit-ledger',
  createPrivateKey({
    key: Buffer.concat([
      Buffer.from('302e020100300506032b657004220420', 'hex'),
      createHash('sha256').update('shizenha OpenAPI example key: documentation only').digest()
    ]),
    format: 'der',
    type: 'pkcs8'
  }),
  'the OpenAPI examples'
)
const CHECKPOINT_BODY = {
  origin: EXAMPLE_SIGNER.name,
  treeSize: EXAMPLE_ENTRY.seq,
  time: '2026-11-26T00:00:00.000Z',
  policyVersion: EXAMPLE.policyVersion,
  heads: HEADS.map(({ chain, seq, headHash }) => ({ chain, seq, hash: headHash }))
}
const NOTE = EXAMPLE_SIGNER.signNote(checkpointText(CHECKPOINT_BODY))
const CHECKPOINT = {
  id: 8,
  origin: CHECKPOINT_BODY.origin,
  time: CHECKPOINT_BODY.time,
  treeSize: CHECKPOINT_BODY.treeSize,
  policyVersion: CHECKPOINT_BODY.policyVersion,
  chains: HEADS,
  keyId: EXAMPLE_SIGNER.keyId,
  publicKey: EXAMPLE_SIGNER.publicKey.toString('base64'),
  note: NOTE,
  signatures: parseNote(NOTE).signatures
}
const KEY = {
  name: EXAMPLE_SIGNER.name,
  keyId: EXAMPLE_SIGNER.keyId,
  algorithm: 'Ed25519',
  publicKey: EXAMPLE_SIGNER.publicKey.toString('base64'),
  publicKeyPem: EXAMPLE_SIGNER.publicKeyPem,
  verifierKey: EXAMPLE_SIGNER.verifierKey
}

export const CHECKPOINT_EXAMPLES: Examples = { checkpoint: { summary: 'The heads of the 16 chains, signed', value: CHECKPOINT } }
export const CHECKPOINT_NOTE_EXAMPLES: Examples = { note: { summary: '?format=note: the signed note itself', value: NOTE } }
export const CHECKPOINT_PAGE_EXAMPLES: Examples = {
  page: { summary: 'The newest checkpoint and the key that signs them', value: { key: KEY, checkpoints: [CHECKPOINT], nextCursor: 'YzoxMA' } }
}

const { hash: _hash, ...hashed } = DECISION_ENTRY
const { hash: _consentHash, ...consentHashed } = CONSENT_ENTRY
const TRAILER = {
  trailer: {
    entries: CHECKPOINT_BODY.treeSize,
    time: CHECKPOINT_BODY.time,
    chains: HEADS.map(({ chain, seq, headHash }) => ({ chain, length: seq, headHash })),
    note: NOTE,
    keyId: KEY.keyId,
    publicKey: KEY.publicKey
  }
}
export const EXPORT_EXAMPLES: Examples = {
  export: {
    summary: 'The last two entries (the 40 before them left out here), then the signed trailer',
    value: [{ ...consentHashed, hash: CONSENT_ENTRY.hash }, { ...hashed, hash: DECISION_ENTRY.hash }, TRAILER]
      .map((line) => `${JSON.stringify(line)}\n`)
      .join('')
  }
}

/** The member's record of the example transfer (APPI Art. 29), as GET …/provision-records gives it in Japanese. */
const PROVISION_RECORD: ProvisionRecord = {
  entryId: EXAMPLE_ENTRY.id,
  memberId: EXAMPLE.memberId,
  providedAt: '2026-11-25T10:15:30.123+09:00',
  recordedAt: EXAMPLE_ENTRY.recordedAt,
  channel: 'third_party',
  provider: { id: FEDERATION.id, name: FEDERATION.name },
  contractor: null,
  recipient: { ...DECISION_ENTRY.recipient, categoryLabel: '金融機関' },
  purpose: 'billing',
  purposeLabel: '商品・サービスの代金の請求及び回収のため',
  serviceCategory: 'joint_purchasing',
  serviceCategoryLabel: '生協の共同購入(個人宅配を含む)にて取り扱う食品・日用雑貨品などの商品',
  dataItems: ['name', 'bank_account', 'billing_amount'],
  dataItemLabels: ['氏名', '口座情報', '請求金額'],
  method: 'electronic',
  methodLabel: '電子データの送信',
  consent: { id: EXAMPLE.consentId, obtainedAt: EXAMPLE_CONSENT.obtainedAt, method: 'paper', methodLabel: '書面', evidenceRef: EXAMPLE_CONSENT.evidenceRef },
  exception: null,
  policyVersion: EXAMPLE.policyVersion,
  requiredByLaw: true,
  recordBasis: '個人情報保護法第29条により作成・保存が義務付けられた記録',
  retainUntil: '2029-11-25T23:59:59.999+09:00'
}
export const PROVISION_RECORDS_EXAMPLES: Examples = {
  records: { summary: 'The example transfer to the bank, labelled in Japanese', value: { memberId: EXAMPLE.memberId, records: [PROVISION_RECORD] } }
}
export const PROVISION_RECORDS_CSV_EXAMPLES: Examples = {
  csv: { summary: '?format=csv: the same, for Excel (UTF-8 with a byte-order mark)', value: provisionRecordsCsv([PROVISION_RECORD], 'ja') }
}

export const CURSOR_VALIDATION: Examples<ProblemBody> = {
  invalid_cursor: problemExample('A cursor this service did not issue', new InvalidRequestError('invalid_cursor', 'the cursor is not one this service issued')),
  validation_failed: validationExample('limit over 500', [{ path: 'querystring/limit', message: 'must be <= 500' }])
}
export const ENTRY_NOT_FOUND: Examples<ProblemBody> = { not_found: problemExample('No entry with this id', new NotFoundError('ledger entry')) }
export const CHECKPOINT_NOT_FOUND: Examples<ProblemBody> = { not_found: problemExample('No checkpoint taken yet', new NotFoundError('a checkpoint')) }
export const CHECKPOINT_CONFLICT: Examples<ProblemBody> = {
  ledger_rewritten: problemExample(
    'The ledger no longer holds a head the latest checkpoint signed',
    new LedgerRewrittenError({ id: 7, time: '2026-11-25T00:00:00.000Z', treeSize: 40 }, [EXAMPLE_ENTRY.chain])
  )
}
export const CHECKPOINT_UNAVAILABLE: Examples<ProblemBody> = {
  checkpoints_unavailable: problemExample('No signing key is configured', new CheckpointsUnavailableError())
}
export const ENTRY_ID_VALIDATION: Examples<ProblemBody> = {
  validation_failed: validationExample('The id is not a UUID', [{ path: 'params/entryId', message: 'must match format "uuid"' }])
}
