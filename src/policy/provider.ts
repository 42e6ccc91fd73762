import type { Bilingual, PolicyDocument } from './document.js'
import type { EntityFacts } from './parties.js'

export type ProviderDetail = 'name' | 'address' | 'representative' | 'acquisition'

/**
 * What a recipient of a third-party provision must confirm and record about the provider
 * (APPI Art. 30(1)): its name, address and representative, and how it obtained the data. All
 * of it is read from the provider's own record (the policy document for the federation, the
 * registry for a member co-op), never made up: where the notice does not state a
 * detail it is null and listed in `missing`, and the policy lint reports the same gap.
 */
export interface ProviderDetails {
  readonly name: Bilingual | null
  readonly address: Bilingual | null
  readonly representative: Bilingual | null
  /** How the data was obtained, as the notice states it (2(1): lawful and fair collection for §I purposes). */
  readonly acquisition: (Bilingual & { readonly clause: string }) | null
  readonly missing: ProviderDetail[]
}

const ACQUISITION_CLAUSE = '2(1)'

/** A registry's text as it is written: a Japanese address or name reads the same in both fields. */
const asWritten = (text: string | null): Bilingual | null => (text === null ? null : { ja: text, en: text })

/** The details of `provider`, the legal person that actually provides, from its own record. */
export function providerDetails(policy: PolicyDocument, provider: EntityFacts): ProviderDetails {
  const clause = policy.clauses.find((c) => c.id === ACQUISITION_CLAUSE)
  const details = {
    name: provider.name,
    address: asWritten(provider.address),
    representative: asWritten(provider.representative),
    acquisition: clause ? { clause: clause.id, ja: clause.ja, en: clause.en } : null
  }
  const missing = (['name', 'address', 'representative', 'acquisition'] as const).filter((key) => details[key] === null)
  return { ...details, missing }
}
