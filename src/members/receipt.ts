import { createHash } from 'node:crypto'
import type { EntryRef } from '../ledger/entry-ref.js'
import type { Bilingual, PolicyDocument } from '../policy/document.js'
import type { RecipientFacts } from '../policy/engine.js'
import { FEDERATION, type EntityFacts } from '../policy/parties.js'
import { providerDetails } from '../policy/provider.js'
import { REASONS } from '../policy/reasons.js'
import { policyVersion } from '../policy/registry.js'
import { CONSENT_METHOD_LABELS, HOME_COUNTRY, type RecipientCategory } from '../policy/vocabulary.js'
import type { Consent } from './repository.js'
import type { ConsentReceipt } from './schemas.js'

/** The recipient as the grant's ledger entry keeps it, so a receipt rebuilt later names it as it was. */
export interface RecipientSnapshot {
  readonly id: string
  readonly category: RecipientCategory
  readonly name: string
  readonly address: string
  readonly representative: string
  readonly country: string
}

export function recipientSnapshot(recipient: RecipientFacts | undefined): RecipientSnapshot | undefined {
  if (recipient === undefined) return undefined
  const { id, category, name, address, representative, country } = recipient
  return { id, category, name, address, representative, country }
}

const SPECIFICATION = 'ISO/IEC TS 27560:2023 consent receipt; Kantara Initiative Consent Receipt v1.1'

/**
 * The receipt id is derived from the ledger entry, not stored: the receipt can be rebuilt at
 * any time and comes out the same (a UUID in the version-8 layout, RFC 9562).
 */
function receiptIdOf(entryId: string): string {
  const hex = createHash('sha256').update(`consent-receipt:${entryId}`, 'utf8').digest('hex')
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

const HOW_TO_VERIFY: Bilingual = {
  en: 'Ask the co-op for the ledger entry named here (GET /v1/ledger/{id}): its hash must equal ledgerEntry.hash, and the published ledger checkpoints must include it.',
  ja: 'ここに記載された台帳記録(GET /v1/ledger/{id})を生協に請求してください。そのハッシュ値が ledgerEntry.hash と一致し、公開された台帳チェックポイントに含まれていれば、同意の記録は改ざんされていません。'
}

/** The provider as a grant's entry keeps it, so a receipt rebuilt later names the controller as it was. */
export function providerSnapshot(provider: EntityFacts): EntityFacts {
  const { id, kind, name, address, representative, corporateNumber, active } = provider
  return { id, kind, name, address, representative, corporateNumber, active }
}

export function buildConsentReceipt(
  consent: Consent,
  entry: EntryRef,
  recipient: RecipientSnapshot | null,
  policy: PolicyDocument,
  provider: EntityFacts
): ConsentReceipt {
  const category = policy.recipientCategories.find((c) => c.id === consent.recipientCategory)
  const items = consent.dataItems ?? category?.necessaryItems ?? []
  const { acquisition: _acquisition, missing, ...details } = providerDetails(policy, provider)
  const controller = { id: provider.id, ...details }
  return {
    receiptId: receiptIdOf(entry.id),
    specification: SPECIFICATION,
    issuedAt: entry.recordedAt,
    jurisdiction: HOME_COUNTRY,
    controller: { ...controller, missing: missing.filter((m) => m !== 'acquisition') },
    memberId: consent.memberId,
    consentId: consent.id,
    obtainedAt: consent.obtainedAt,
    method: consent.method,
    methodLabel: CONSENT_METHOD_LABELS[consent.method],
    evidenceRef: consent.evidenceRef,
    legalBasis: { clause: REASONS.consent_on_record.clause, law: REASONS.consent_on_record.law },
    purposes: (category?.purposes ?? []).map((id) => {
      const purpose = policy.purposes.find((p) => p.id === id)
      return { id, clause: purpose?.clause ?? '', ja: purpose?.ja ?? '', en: purpose?.en ?? '' }
    }),
    itemsListed: consent.dataItems !== null,
    dataCategories: items.map((id) => {
      const item = policy.dataItems.find((d) => d.id === id)
      return { id, ja: item?.ja ?? '', en: item?.en ?? '', sensitive: item?.sensitive ?? false }
    }),
    recipient: {
      category: consent.recipientCategory,
      contractorId: consent.contractorId,
      clause: category?.clause ?? '',
      ja: category?.ja ?? '',
      en: category?.en ?? '',
      id: consent.recipientId,
      name: recipient?.name ?? null,
      country: recipient?.country ?? null
    },
    provisionMethods: policy.methods.map((m) => ({ id: m.id, ja: m.ja, en: m.en })),
    policy: { version: policy.version, effectiveFrom: policy.effectiveFrom, title: policy.title },
    ledgerEntry: { id: entry.id, chain: entry.chain, seq: entry.seq, hash: entry.hash, recordedAt: entry.recordedAt },
    howToVerify: HOW_TO_VERIFY
  }
}

/**
 * The receipt again, from the stored consent and the ledger entry of its grant.
 * @throws Error when the consent names a policy version this code does not publish (the
 *   service refuses to run with such a database, so this means a corrupted row).
 */
export function rebuildConsentReceipt(consent: Consent, grant: { content: Record<string, unknown>; hash: string }): ConsentReceipt {
  const policy = policyVersion(consent.policyVersion)
  if (policy === undefined) throw new Error(`consent ${consent.id} names an unknown policy version`)
  const content = grant.content as { id: string; chain: number; seq: number; recordedAt: string; recipient?: RecipientSnapshot; provider?: EntityFacts }
  const entry: EntryRef = { id: content.id, chain: content.chain, seq: content.seq, hash: grant.hash, recordedAt: content.recordedAt }
  // A grant recorded before providers were told apart was the federation's.
  return buildConsentReceipt(consent, entry, content.recipient ?? null, policy, content.provider ?? FEDERATION)
}
