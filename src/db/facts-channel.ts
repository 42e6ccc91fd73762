// Beside the database because both sides use it: the resources' routes announce changes on it and
// the recording core's facts cache listens, and neither may import the other.

/** Channel on which the database announces changed facts (migration 2026-12-02T01_fact_changes). */
export const FACTS_CHANNEL = 'shizenha_facts'

/** What an announcement names: the facts of one member, recipient or contractor, or all of them. */
export const factKey = {
  member: (id: string) => `member:${id}`,
  entity: (id: string) => `entity:${id}`,
  recipient: (id: string) => `recipient:${id}`,
  contractor: (id: string) => `contractor:${id}`
}
