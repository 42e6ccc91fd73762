import type { EmbeddedListen } from './change-feed.js'

/** The engines the service runs on: a PostgreSQL server, or PostgreSQL in WebAssembly (PGlite) in this process. */
export const DATABASE_ENGINES = ['postgres', 'pglite'] as const
export type DatabaseEngine = (typeof DATABASE_ENGINES)[number]

/**
 * What the storage backend can do, set once where the dialect is chosen (src/db/dialect.ts). The
 * rest of the code asks these, never which engine it is, so that what differs between the
 * backends is decided in one place and proven by one conformance suite (test/conformance/).
 */
export interface StorageCapabilities {
  /** The engine's name, for the start-up log and /readyz; code decides on the capabilities below. */
  readonly engine: DatabaseEngine
  /** The ledger writer may load a large group with COPY FROM STDIN instead of INSERT. */
  readonly copy: boolean
  /**
   * Several connections: a group of entries may be committing while the next one is written, and
   * a long read-only snapshot (a verify walk) holds up nobody.
   */
  readonly overlappingCommits: boolean
  /**
   * Rows per page when walking the ledger: on a server large enough that the round trips do not
   * count; in this process small enough that one page does not stall the event loop for long.
   */
  readonly pageRows: number
  /**
   * Queries run on this process's event loop: its delay then measures the database's own work
   * rather than an overload, so load shedding by event-loop delay would refuse healthy traffic.
   */
  readonly onEventLoop: boolean
  /**
   * The database's files are in DATA_DIR and belong to this one process: a first start there
   * makes the first admin and a checkpoint key of its own, and the CLI cannot open them while
   * the service runs.
   */
  readonly embedded: boolean
  /**
   * How other processes' changes reach the change feed: a listening connection of its own to the
   * server, or the embedded database's listen (undefined where nobody listens, as in the CLI).
   */
  readonly notifications: { readonly url: string } | { readonly listen: EmbeddedListen | undefined }
}

export function serverCapabilities(url: string): StorageCapabilities {
  return { engine: 'postgres', copy: true, overlappingCommits: true, pageRows: 8192, onEventLoop: false, embedded: false, notifications: { url } }
}

export function embeddedCapabilities(listen: EmbeddedListen | undefined): StorageCapabilities {
  return { engine: 'pglite', copy: false, overlappingCommits: false, pageRows: 1024, onEventLoop: true, embedded: true, notifications: { listen } }
}
