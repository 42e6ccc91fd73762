import { deepFreeze, type Party, type PolicyDocument } from './document.js'
import { noticeV1 } from './notice-v1.js'
import { noticeV2 } from './notice-v2.js'
import type { EntityKind } from './vocabulary.js'

/**
 * The published text is unchanged. What changes is how the service reads 2(2) and the parties:
 * 「コープ自然派事業連合と会員生協、及び日本生活協同組合連合会とで共同利用します」 makes the
 * federation, every member co-op and JCCU joint users of every item, and the federation and the
 * member co-ops, each a legal person, the providers responsible for management. The first two
 * versions named JCCU alone as joint user and could tell no member co-op from another.
 *
 * Each party now states its kind, and the joint users are the three parties (kinds, not a list of
 * co-ops), so the member co-ops an admin registers are joint users and providers without a new
 * version, and a later notice can change the circle by changing this data.
 */
const PARTY_KINDS: Readonly<Record<string, EntityKind>> = { shizenha: 'federation', member_coops: 'member_coop', JCCU: 'jccu' }

function withLegalPersons(base: PolicyDocument, version: string, effectiveFrom: string): PolicyDocument {
  const { gaps: _superseded, ...rest } = base
  const parties: Party[] = base.parties.map((party) => {
    const kind = PARTY_KINDS[party.id]
    return kind === undefined ? party : { ...party, kind }
  })
  return deepFreeze({
    ...rest,
    version,
    effectiveFrom,
    parties,
    jointUse: { ...base.jointUse, jointUsers: parties.map((party) => party.id) },
    channels: base.channels.map((channel) =>
      channel.id === 'joint_use' ? { ...channel, en: 'Joint use among the federation, the member co-ops and JCCU' } : channel
    )
  })
}

/** In force from its publication: the first version's reading of §II with every legal person of 2(2). */
export const noticeV3: PolicyDocument = withLegalPersons(noticeV1, '2026-12-07.1', '2026-12-07T00:00:00+09:00')

/**
 * The second version (§II.3 covers refunds of capital contributions) with every legal person of
 * 2(2). It comes into force when the second would have, and supersedes it before it ever applied:
 * the second is kept because it was published, and a published version is never edited.
 */
export const noticeV4: PolicyDocument = withLegalPersons(noticeV2, '2027-04-01.2', noticeV2.effectiveFrom)
