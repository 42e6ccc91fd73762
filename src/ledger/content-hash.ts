import * as crypto from 'node:crypto'
import { entryHash } from './hashing.js'

// Hashing an entry from its JSON text: the text PostgreSQL gives for a stored jsonb content
// (verify, the ledger's reads) and the text the writer stores (append).

const sha256Hex: (data: Uint8Array) => string =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha256', data, 'hex') : (data) => crypto.createHash('sha256').update(data).digest('hex')

/**
 * The entry hash of a stored content given as JSON text (`content::text`): the same value as
 * `entryHash(JSON.parse(text))` of hashing.ts, which stays the reference. Throws where the
 * reference throws (text that is not JSON, a number that is not finite, a lone surrogate).
 */
export function storedContentHash(text: string): string {
  const canonical = writer.write(text, undefined)
  return canonical === undefined ? entryHash(JSON.parse(text) as Record<string, unknown>) : sha256Hex(canonical)
}

/**
 * The members of an entry's content that the columns beside it repeat. `hashWithRanges` tells
 * where each one's value stands in the content text.
 */
export const TOP_LEVEL_MEMBERS = [
  'id',
  'chain',
  'seq',
  'prevHash',
  'recordedAt',
  'kind',
  'memberId',
  'clientId',
  'channel',
  'decision',
  'recipientId',
  'contractorId'
] as const
export type TopLevelMember = (typeof TOP_LEVEL_MEMBERS)[number]
export type TopLevelMembers = Partial<Record<TopLevelMember, string>>
const SLOT_OF: ReadonlyMap<string, number> = new Map(TOP_LEVEL_MEMBERS.map((name, slot) => [name, slot]))
export const slotOf = (name: TopLevelMember): number => SLOT_OF.get(name)!

/** Room for `hashWithRanges`: a [start, end) pair per TOP_LEVEL_MEMBERS member, and a flag. */
export const newRanges = (): Int32Array => new Int32Array(TOP_LEVEL_MEMBERS.length * 2 + 1)
const RANGED = TOP_LEVEL_MEMBERS.length * 2

/**
 * `storedContentHash`, and where the fast canonicalization took the text, the range of each
 * TOP_LEVEL_MEMBERS member's value in `text` in `ranges` (-1 for one the content lacks; a value
 * stands there as in the text: compared with a column, anything but a plain string or integer
 * gives a mismatch, never a false match). `isRanged(ranges)` says whether they were filled; when
 * not, the reference decided the hash and JSON.parse must read the members.
 */
export function hashWithRanges(text: string, ranges: Int32Array): string {
  ranges.fill(-1)
  ranges[RANGED] = 0
  const canonical = writer.write(text, ranges)
  if (canonical === undefined) return entryHash(JSON.parse(text) as Record<string, unknown>)
  ranges[RANGED] = 1
  return sha256Hex(canonical)
}

export const isRanged = (ranges: Int32Array): boolean => ranges[RANGED] === 1

/** `hashWithRanges` with the members as text; `members` is undefined when the fast path declined. */
export function hashWithMembers(text: string): { hash: string; members: TopLevelMembers | undefined } {
  const ranges = newRanges()
  const hash = hashWithRanges(text, ranges)
  if (!isRanged(ranges)) return { hash, members: undefined }
  const members: Record<string, string> = {}
  TOP_LEVEL_MEMBERS.forEach((name, slot) => {
    if (ranges[2 * slot]! >= 0) members[name] = text.slice(ranges[2 * slot], ranges[2 * slot + 1])
  })
  return { hash, members: members }
}

/** The RFC 8785 text `canonicalJsonBytes` writes, or undefined where it declines (see there). */
export function canonicalJsonText(text: string): string | undefined {
  const canonical = writer.write(text, undefined)
  return canonical === undefined ? undefined : Buffer.from(canonical.buffer, canonical.byteOffset, canonical.byteLength).toString('utf8')
}

const DECLINE = new Error('declined')
const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193
/** Numbers of object shapes kept; past it the cache starts afresh. */
const MAX_SHAPES = 4096
/** Per member of an object being written: name start and end, value start and end (in the input), start and end in the output. */
const MEMBER_INTS = 6

/** An object's member names in input order, and the order JCS writes them in. */
interface Shape {
  readonly names: string
  readonly count: number
  readonly order: Int32Array
  /** For a top-level object: the TOP_LEVEL_MEMBERS slot of each member in input order, or -1. */
  readonly slots: Int8Array
}

/**
 * RFC 8785 (JCS) canonical UTF-8 bytes of a JSON text, in one pass and without building the
 * value: members of each object are written sorted by name with no whitespace; strings and names
 * are written as they stand (UTF-8 encoded); numbers are written as ECMAScript writes them. It
 * declines (returns undefined; the caller then uses the reference, `canonicalize(JSON.parse(…))`)
 * any text it does not take on, which keeps the result provably identical to the reference:
 *
 *  - A string holding a backslash, a control character or a lone surrogate is declined. Any
 *    other JSON string is exactly what JSON.stringify (which JCS uses for strings) writes for its
 *    value, since that escapes only `"`, `\`, control characters and lone surrogates; so string
 *    tokens are copied, and a member name's token without its quotes is the name itself,
 *    compared as UTF-16 code units, as JCS sorts.
 *  - A number token must match the JSON grammar and be finite; it is written as
 *    JSON.stringify(Number(token)), as JCS prescribes (a short integer token is that already).
 *  - Duplicate member names, which JSON.parse would collapse, are declined.
 *  - Whitespace other than spaces, and anything outside the JSON grammar, is declined.
 *
 * The order of an object's members depends only on their names, so it is computed once per
 * sequence of names and reused (each entry of one kind has the same names in the same order in
 * PostgreSQL's jsonb text); a reuse is checked name by name against the sequence it was made for.
 * The bytes returned are overwritten by the next call.
 */
class JcsWriter {
  private s = ''
  private n = 0
  private at = 0
  private out = new Uint8Array(1 << 14)
  private o = 0
  private depth = 0
  private readonly members: number[] = []
  private shapes = new Map<number, Shape>()
  private ranges: Int32Array | undefined

  write(text: string, ranges: Int32Array | undefined): Uint8Array | undefined {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; numbers may grow a little. The second half is scratch.
    const room = text.length * 3 + 64
    if (this.out.length < room * 2) this.out = new Uint8Array(room * 4)
    this.s = text
    this.n = text.length
    this.at = 0
    this.o = 0
    this.depth = 0
    this.members.length = 0
    this.ranges = ranges
    try {
      this.space()
      this.value()
      this.space()
      return this.at === this.n ? this.out.subarray(0, this.o) : undefined
    } catch (err) {
      if (err === DECLINE) return undefined
      throw err
    } finally {
      this.s = ''
      this.ranges = undefined
    }
  }

  private space(): void {
    const s = this.s
    let at = this.at
    while (s.charCodeAt(at) === 0x20) at += 1
    this.at = at
  }

  private value(): void {
    const c = this.s.charCodeAt(this.at)
    if (c === 0x22) this.string()
    else if (c === 0x7b) this.object()
    else if (c === 0x5b) this.array()
    else this.scalar()
  }

  /** Copies a string token, quotes included, UTF-8 encoded. */
  private string(): void {
    const s = this.s
    const n = this.n
    const out = this.out
    let at = this.at + 1
    let o = this.o
    out[o++] = 0x22
    for (;;) {
      if (at >= n) throw DECLINE
      const c = s.charCodeAt(at)
      if (c === 0x22) break
      if (c < 0x80) {
        if (c < 0x20 || c === 0x5c) throw DECLINE
        out[o++] = c
      } else if (c < 0x800) {
        out[o++] = 0xc0 | (c >> 6)
        out[o++] = 0x80 | (c & 0x3f)
      } else if (c < 0xd800 || c > 0xdfff) {
        out[o++] = 0xe0 | (c >> 12)
        out[o++] = 0x80 | ((c >> 6) & 0x3f)
        out[o++] = 0x80 | (c & 0x3f)
      } else {
        const low = s.charCodeAt(at + 1)
        if (c > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) throw DECLINE
        const point = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00)
        out[o++] = 0xf0 | (point >> 18)
        out[o++] = 0x80 | ((point >> 12) & 0x3f)
        out[o++] = 0x80 | ((point >> 6) & 0x3f)
        out[o++] = 0x80 | (point & 0x3f)
        at += 1
      }
      at += 1
    }
    out[o++] = 0x22
    this.at = at + 1
    this.o = o
  }

  private scalar(): void {
    const s = this.s
    const n = this.n
    const start = this.at
    let at = start
    while (at < n) {
      const c = s.charCodeAt(at)
      if (c === 0x2c || c === 0x7d || c === 0x5d || c === 0x20) break
      at += 1
    }
    this.at = at
    // -?[1-9][0-9]{0,14} or 0: an integer ECMAScript writes exactly so.
    let digits = start
    if (s.charCodeAt(digits) === 0x2d) digits += 1
    const length = at - digits
    let verbatim = length >= 1 && length <= 15 && (s.charCodeAt(digits) !== 0x30 || (length === 1 && digits === start))
    for (let i = digits; verbatim && i < at; i += 1) {
      const c = s.charCodeAt(i)
      verbatim = c >= 0x30 && c <= 0x39
    }
    let text: string
    if (verbatim) {
      const out = this.out
      let o = this.o
      for (let i = start; i < at; i += 1) out[o++] = s.charCodeAt(i)
      this.o = o
      return
    }
    const token = s.slice(start, at)
    if (token === 'true' || token === 'false' || token === 'null') text = token
    else {
      if (!NUMBER.test(token)) throw DECLINE
      const number = Number(token)
      if (!Number.isFinite(number)) throw DECLINE
      text = JSON.stringify(number)
    }
    const out = this.out
    let o = this.o
    // Only a number written longer than its token (1e20) can outgrow the room write() made.
    if (o + text.length > out.length >> 1) throw DECLINE
    for (let i = 0; i < text.length; i += 1) out[o++] = text.charCodeAt(i)
    this.o = o
  }

  private array(): void {
    this.depth += 1
    this.at += 1
    this.space()
    this.out[this.o++] = 0x5b
    if (this.s.charCodeAt(this.at) === 0x5d) {
      this.at += 1
      this.out[this.o++] = 0x5d
    } else {
      do this.value()
      while (this.separator(0x5d))
      this.out[this.o - 1] = 0x5d
    }
    this.depth -= 1
  }

  /**
   * After a value in an array or object: writes a comma (the closing bracket overwrites the last),
   * then reads `,` (true: another value follows) or `close` (false: the list ended).
   */
  private separator(close: number): boolean {
    this.out[this.o++] = 0x2c
    this.space()
    const c = this.s.charCodeAt(this.at)
    this.at += 1
    if (c === close) return false
    if (c !== 0x2c) throw DECLINE
    this.space()
    return true
  }

  /** Compares two member names (input ranges) as UTF-16 code units. */
  private compare(a: number, aEnd: number, b: number, bEnd: number): number {
    const s = this.s
    const la = aEnd - a
    const lb = bEnd - b
    const l = la < lb ? la : lb
    for (let i = 0; i < l; i += 1) {
      const d = s.charCodeAt(a + i) - s.charCodeAt(b + i)
      if (d !== 0) return d
    }
    return la - lb
  }

  private object(): void {
    this.depth += 1
    const members = this.members
    const base = members.length
    this.at += 1
    this.space()
    this.out[this.o++] = 0x7b
    if (this.s.charCodeAt(this.at) === 0x7d) {
      this.at += 1
      this.out[this.o++] = 0x7d
      this.depth -= 1
      return
    }
    const regionStart = this.o
    let sorted = true
    let hash = FNV_OFFSET
    for (;;) {
      if (this.s.charCodeAt(this.at) !== 0x22) throw DECLINE
      const nameStart = this.at + 1
      const outStart = this.o
      this.string()
      const nameEnd = this.at - 1
      for (let i = nameStart; i < nameEnd; i += 1) hash = Math.imul(hash ^ this.s.charCodeAt(i), FNV_PRIME)
      hash = Math.imul(hash ^ 0xffff, FNV_PRIME)
      if (members.length > base && sorted) {
        const order = this.compare(members[members.length - MEMBER_INTS]!, members[members.length - MEMBER_INTS + 1]!, nameStart, nameEnd)
        if (order === 0) throw DECLINE
        if (order > 0) sorted = false
      }
      this.space()
      if (this.s.charCodeAt(this.at) !== 0x3a) throw DECLINE
      this.at += 1
      this.space()
      this.out[this.o++] = 0x3a
      const valueStart = this.at
      this.value()
      members.push(nameStart, nameEnd, valueStart, this.at, outStart, this.o)
      if (!this.separator(0x7d)) break
    }
    const count = (members.length - base) / MEMBER_INTS
    const top = this.depth === 1 && this.ranges !== undefined
    if (!sorted || top) {
      const shape = this.shapeOf(base, count, hash >>> 0, top)
      if (!sorted) this.reorder(base, shape.order, regionStart)
      if (top) {
        for (let k = 0; k < count; k += 1) {
          const slot = shape.slots[k]!
          const m = base + k * MEMBER_INTS
          if (slot >= 0) {
            this.ranges![2 * slot] = members[m + 2]!
            this.ranges![2 * slot + 1] = members[m + 3]!
          }
        }
      }
    }
    members.length = base
    this.out[this.o - 1] = 0x7d
    this.depth -= 1
  }

  /** The shape of the object whose members start at `base`: reused when its names are the same, else made. */
  private shapeOf(base: number, count: number, hash: number, top: boolean): Shape {
    const members = this.members
    const s = this.s
    const known = this.shapes.get(hash)
    if (known?.count === count && (!top || known.slots.length === count)) {
      let same = true
      let j = 0
      for (let k = 0; same && k < count; k += 1) {
        const m = base + k * MEMBER_INTS
        const end = members[m + 1]!
        for (let i = members[m]!; i < end; i += 1, j += 1) {
          if (known.names.charCodeAt(j) !== s.charCodeAt(i)) {
            same = false
            break
          }
        }
        if (same && known.names.charCodeAt(j) !== 0) same = false
        j += 1
      }
      if (same) return known
    }
    const names: string[] = []
    for (let k = 0; k < count; k += 1) names.push(s.slice(members[base + k * MEMBER_INTS], members[base + k * MEMBER_INTS + 1]))
    const order = Int32Array.from(names.keys()).sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0))
    for (let k = 1; k < count; k += 1) if (names[order[k - 1]!] === names[order[k]!]) throw DECLINE
    const shape: Shape = {
      names: names.map((name) => `${name}\u0000`).join(''),
      count,
      order,
      slots: top ? Int8Array.from(names, (name) => SLOT_OF.get(name) ?? -1) : new Int8Array(0)
    }
    if (this.shapes.size >= MAX_SHAPES) this.shapes = new Map()
    this.shapes.set(hash, shape)
    return shape
  }

  /** Rewrites the members just written (from `regionStart`) in `order`, through the scratch half of `out`. */
  private reorder(base: number, order: Int32Array, regionStart: number): void {
    const out = this.out
    const members = this.members
    const scratch = out.length >> 1
    out.copyWithin(scratch, regionStart, this.o)
    const shift = scratch - regionStart
    let o = regionStart
    for (const index of order) {
      const m = base + index * MEMBER_INTS
      const from = members[m + 4]! + shift
      const to = members[m + 5]! + shift
      out.copyWithin(o, from, to)
      o += to - from
      out[o++] = 0x2c
    }
    this.o = o
  }
}

const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/
const writer = new JcsWriter()
