import type { ChangeFeed, ChangeListener } from '../db/change-feed.js'
import type { ContractorFacts, RecipientFacts } from '../policy/engine.js'
import type { EntityFacts } from '../policy/parties.js'
import { World, type FactsNeeded, type MemberFacts } from './facts.js'
import { FACTS_CHANNEL } from '../db/facts-channel.js'

const EVERYTHING = '*'

/**
 * A member is kept until this many others have been, so a run over every member cannot grow the
 * process without bound. Recipients and contractors are a registry of a few hundred: they all fit.
 */
const MAX_MEMBERS = 100_000
const MAX_PARTIES = 10_000

export type FactsSource = 'hit' | 'miss' | 'bypass'

/**
 * The facts checks read, kept in the process so that a repeated check needs no database round
 * trip. Only recording acts decide under the chain lock; a check is an answer about the database
 * as it stands, so it may read these, and they are kept exactly as fresh as the change feed:
 * every change to a consent, suspension, recipient, contractor, contract or inspection is
 * announced by a trigger (whoever makes it) and dropped here when it commits anywhere, at once in
 * the process that made it (it announces locally before answering). While the feed is down
 * nothing is served from memory, and everything is dropped when it comes back. A read that raced
 * a change is not kept (the generation moved on while it ran).
 */
export class FactsCache implements ChangeListener {
  private readonly members = new Map<string, MemberFacts>()
  private readonly entities = new Map<string, EntityFacts | null>()
  private readonly recipients = new Map<string, RecipientFacts | null>()
  private readonly contractors = new Map<string, ContractorFacts | null>()
  private generation = 0

  constructor(private readonly feed: ChangeFeed) {
    feed.subscribe(FACTS_CHANNEL, this)
  }

  /** The world `needed` describes, from memory; undefined when anything must be read. */
  lookup(needed: FactsNeeded): World | undefined {
    if (!this.feed.live) return undefined
    const entities = new Map<string, EntityFacts>()
    for (const id of needed.entityIds) {
      const facts = this.entities.get(id)
      if (facts === undefined) return undefined
      if (facts !== null) entities.set(id, facts)
    }
    const recipients = new Map<string, RecipientFacts>()
    for (const id of needed.recipientIds) {
      const facts = this.recipients.get(id)
      if (facts === undefined) return undefined
      if (facts !== null) recipients.set(id, facts)
    }
    const contractors = new Map<string, ContractorFacts>()
    for (const id of needed.contractorIds) {
      const facts = this.contractors.get(id)
      if (facts === undefined) return undefined
      if (facts !== null) contractors.set(id, facts)
    }
    const members = new Map<string, MemberFacts>()
    for (const id of needed.memberIds) {
      const member = this.members.get(id)
      if (member === undefined) return undefined
      members.set(id, member)
    }
    return World.of(entities, recipients, contractors, members)
  }

  /** A marker to pass to `remember`, taken before the database is read. */
  begin(): number {
    return this.generation
  }

  /** Keeps what `world` holds for `needed`, unless the feed is down or something changed since `startedAt`. */
  remember(needed: FactsNeeded, world: World, startedAt: number): FactsSource {
    if (!this.feed.live || startedAt !== this.generation) return 'bypass'
    for (const id of needed.entityIds) keep(this.entities, MAX_PARTIES, id, world.entity(id) ?? null)
    for (const id of needed.recipientIds) keep(this.recipients, MAX_PARTIES, id, world.recipient(id) ?? null)
    for (const id of needed.contractorIds) keep(this.contractors, MAX_PARTIES, id, world.contractor(id) ?? null)
    for (const id of needed.memberIds) {
      const { consents, suspensions, seen } = world.member(id)
      keep(this.members, MAX_MEMBERS, id, { consents, suspensions, seen })
    }
    return 'miss'
  }

  changed(payload: string): void {
    this.generation += 1
    if (payload === EVERYTHING) return this.clear()
    const separator = payload.indexOf(':')
    const kind = payload.slice(0, separator)
    const id = payload.slice(separator + 1)
    if (kind === 'member') this.members.delete(id)
    else if (kind === 'entity') this.entities.delete(id)
    else if (kind === 'recipient') this.recipients.delete(id)
    else if (kind === 'contractor') this.contractors.delete(id)
    else this.clear()
  }

  /**
   * A member's first entry is announced by no trigger (entries change no fact a decision rests
   * on); this process drops a member it holds as never seen once it records one, so its checks
   * stop warning member_unseen. Another process's cache may warn until the member's facts change.
   */
  recorded(memberId: string): void {
    if (this.members.get(memberId)?.seen === false) this.members.delete(memberId)
  }

  reset(): void {
    this.generation += 1
    this.clear()
  }

  private clear(): void {
    this.members.clear()
    this.entities.clear()
    this.recipients.clear()
    this.contractors.clear()
  }
}

/** Sets `key`, first dropping the oldest entry when a new key would take the map past `max`. */
function keep<V>(map: Map<string, V>, max: number, key: string, value: V): void {
  if (map.size >= max && !map.has(key)) {
    const oldest = map.keys().next()
    if (oldest.done !== true) map.delete(oldest.value)
  }
  map.set(key, value)
}
