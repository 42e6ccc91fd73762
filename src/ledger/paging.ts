import type { StorageCapabilities } from '../db/capabilities.js'

/** Rows per page when walking the ledger (see StorageCapabilities.pageRows). */
export interface Paging {
  readonly rows: number
}
export const pagingOf = (storage: Pick<StorageCapabilities, 'pageRows'>): Paging => ({ rows: storage.pageRows })

/**
 * Pages of rows, the next one asked for as soon as the current one has arrived, so that the
 * database reads it while the caller works on this one. `key` is what the next page starts after.
 */
export async function* prefetched<R>(
  paging: Paging,
  fetch: (after: number) => Promise<R[]>,
  key: (row: R) => number,
  after: number,
  stop: () => boolean = () => false
): AsyncGenerator<R[]> {
  const request = (from: number) => {
    const rows = fetch(from)
    rows.catch(() => {}) // a page nobody waits for any more must not fail the process
    return rows
  }
  let pending = request(after)
  for (;;) {
    const rows = await pending
    const more = rows.length === paging.rows && !stop()
    if (more) pending = request(key(rows[rows.length - 1]!))
    yield rows
    if (!more) return
  }
}
