const COMMA = Buffer.from(',')

/**
 * A JSON answer built from parts already serialized one by one: `open`, the items separated by
 * commas, then `close`. Long lists (a ledger page, a member's provision records) are sent this
 * way rather than serialized as one JS string: a string of hundreds of kB (two bytes a character
 * once any Japanese is in it) lands on fresh V8 pages of its own and page-faults on every request,
 * which a profile (`perf`) put at the top of a page's cost; items of a few kB each do not.
 */
export function jsonListBytes(open: string, items: readonly Buffer[], close: string): Buffer {
  const parts: Buffer[] = [Buffer.from(open)]
  items.forEach((item, index) => {
    if (index > 0) parts.push(COMMA)
    parts.push(item)
  })
  parts.push(Buffer.from(close))
  return Buffer.concat(parts)
}
