import type { Bilingual, PolicyDocument } from './document.js'
import { POLICY_VERSIONS } from './registry.js'
import type { EntityKind } from './vocabulary.js'

/**
 * A legal person of the notice as a decision sees it: the federation or JCCU, which the policy
 * document names, or a member co-op an admin registered. What the notice does not state (an
 * address, a representative) is null, never made up.
 */
export interface EntityFacts {
  readonly id: string
  readonly kind: EntityKind
  readonly name: Bilingual
  readonly address: string | null
  readonly representative: string | null
  /** 法人番号, 13 digits. */
  readonly corporateNumber: string | null
  readonly active: boolean
}

/** The kinds the parties with `role` are, as `policy` states them (none in versions that state no kinds). */
function kindsOf(policy: PolicyDocument, ids: readonly string[]): EntityKind[] {
  return policy.parties.flatMap((party) => (ids.includes(party.id) && party.kind !== undefined ? [party.kind] : []))
}

/** The kinds of legal person that use jointly under 2(2). */
export function jointUserKinds(policy: PolicyDocument): EntityKind[] {
  return kindsOf(policy, policy.jointUse.jointUsers)
}

/** The kinds of legal person responsible for management (2(2)): those that provide. */
export function providerKinds(policy: PolicyDocument): EntityKind[] {
  return kindsOf(
    policy,
    policy.parties.filter((p) => p.role === 'responsible_for_management').map((p) => p.id)
  )
}

/**
 * The persons a policy document itself names (one per party of a kind that is a single person).
 * A member co-op is not among them: the notice names none, so each is registered.
 */
export function namedEntities(policy: PolicyDocument): EntityFacts[] {
  return policy.parties.flatMap((party) =>
    party.kind === undefined || party.kind === 'member_coop'
      ? []
      : [
          {
            id: party.id,
            kind: party.kind,
            name: party.name,
            // The notice's own text is Japanese; a Japanese address is kept as it is written.
            address: party.address?.ja ?? null,
            representative: party.representative?.ja ?? null,
            corporateNumber: null,
            active: true
          }
        ]
  )
}

/**
 * The legal persons exist whichever version is in force: they are read from the newest published
 * version, the most complete statement of them.
 */
const NEWEST = POLICY_VERSIONS[POLICY_VERSIONS.length - 1]!
export const NAMED_ENTITIES: readonly EntityFacts[] = Object.freeze(namedEntities(NEWEST))

/** The federation: the provider of every record made before providers were told apart, and of every client that names none. */
export const FEDERATION: EntityFacts = (() => {
  const federation = NAMED_ENTITIES.find((e) => e.kind === 'federation')
  if (federation === undefined) throw new Error('the newest policy version names no federation')
  return federation
})()

/** The kinds of legal person that provide, as the newest version states them: what a client may belong to. */
export const PROVIDER_KINDS: readonly EntityKind[] = Object.freeze(providerKinds(NEWEST))

/** The person the notice names with this id; undefined for any other id. */
export function namedEntity(id: string): EntityFacts | undefined {
  return NAMED_ENTITIES.find((e) => e.id === id)
}

/** What an entity's record does not state, for listings that say so plainly. */
export function missingDetails(entity: EntityFacts): ('address' | 'representative' | 'corporateNumber')[] {
  return (['address', 'representative', 'corporateNumber'] as const).filter((key) => entity[key] === null)
}
