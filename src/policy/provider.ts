import type { Bilingual, Party, PolicyDocument } from './document.js'

export type ProviderDetail = 'name' | 'address' | 'representative' | 'acquisition'

/**
 * What a recipient of a third-party provision must confirm and record about the provider
 * (APPI Art. 30(1)): its name, address and representative, and how it obtained the data. All
 * of it is read from the policy document, never made up: where the notice does not state a
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

/** The controller that provides: the first party the notice makes responsible for management. */
export function controllerOf(policy: PolicyDocument): Party | undefined {
  return policy.parties.find((p) => p.role === 'responsible_for_management')
}

const ACQUISITION_CLAUSE = '2(1)'

export function providerDetails(policy: PolicyDocument): ProviderDetails {
  const controller = controllerOf(policy)
  const clause = policy.clauses.find((c) => c.id === ACQUISITION_CLAUSE)
  const details = {
    name: controller?.name ?? null,
    address: controller?.address ?? null,
    representative: controller?.representative ?? null,
    acquisition: clause ? { clause: clause.id, ja: clause.ja, en: clause.en } : null
  }
  const missing = (['name', 'address', 'representative', 'acquisition'] as const).filter((key) => details[key] === null)
  return { ...details, missing }
}
