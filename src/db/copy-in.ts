import type { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { sql, type RawBuilder } from 'kysely'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'

/**
 * COPY … FROM STDIN on PostgreSQL, from inside a Kysely transaction. Kysely only sends a text and
 * its parameters, so the statement carries a marker and its rows as its one parameter, and each
 * pool connection runs a marked statement as a COPY with that parameter as its input. Measured
 * against the one INSERT … SELECT FROM json_to_recordset the ledger otherwise sends (real ledger
 * entries of ~2.2 kB, rolled-back transactions, eight runs each): 1,000 rows in 62–88 ms against
 * 106–119 ms, 100 rows in 6–7 ms against 8–11 ms. A JSON parameter is parsed twice (validated as
 * json, then taken apart row by row) and every quote in it is escaped; COPY's text is parsed once.
 */
const MARKER = '/* copy-in */ '
const MARKED = /^\/\* copy-in \*\/ (COPY [^;]* FROM STDIN) \$1$/

/** The COPY text-format escapes of one field (a backslash, and the characters that separate fields and rows). */
const SPECIAL = /[\\\t\n\r]/
const EVERY_SPECIAL = new RegExp(SPECIAL.source, 'g')
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }

/** One row of COPY's text format, with its newline: null is \N, everything else its text, escaped. */
export function copyTextLine(fields: readonly (string | number | null)[]): string {
  let line = ''
  for (const [i, value] of fields.entries()) {
    if (i > 0) line += '\t'
    if (value === null) line += '\\N'
    else if (typeof value === 'number') line += String(value)
    else line += SPECIAL.test(value) ? value.replace(EVERY_SPECIAL, (c) => ESCAPES[c]!) : value
  }
  return line + '\n'
}

/**
 * Lines are sent in chunks of at most this many characters (one longer line goes alone): each is
 * one message and one write. A write the socket's kernel buffer takes completes at once (a 64 kB
 * write to a loopback socket returns true with nothing left pending), so the rows of a group
 * decided in one go still leave while it is decided. Measured, 1,000 real rows with 60 µs of work
 * each: 120–139 ms made then sent, 79–89 ms sent as made, of which 2–3 ms after the last row.
 */
const FEED_CHUNK_CHARS = 1 << 16

/**
 * The rows of a COPY that is already running, sent while the caller is still making them, so
 * that PostgreSQL inserts the first rows while the next are computed. The statement it is given
 * to stays open until `end`: nothing else can run on that connection before, so a caller that
 * gives up must `abandon` it.
 *
 * At most one chunk is ever waiting inside the COPY stream: when the socket is full (PostgreSQL
 * busy), the rows gather here, and that chunk's write callback sends them. pg-copy-streams
 * writes chunks queued in it even after the server failed the COPY, which throws outside any
 * caller and would end the process (brianc/node-pg-copy-streams#171).
 */
export class CopyFeed {
  private stream: Writable | undefined
  private chunk = ''
  private failure: Error | undefined
  private ending = false
  private readonly whenReady: Promise<void>
  private settleReady!: (error?: Error) => void

  constructor() {
    this.whenReady = new Promise<void>((resolve, reject) => {
      this.settleReady = (error) => (error === undefined ? resolve() : reject(error))
    })
    // Whoever waits on the statement hears of a failure too; this one only keeps it from being unhandled.
    this.whenReady.catch(() => {})
  }

  /** Resolves once the server takes rows, so that what is pushed from then on goes out at once. */
  ready(): Promise<void> {
    return this.whenReady
  }

  /** Adds lines from copyTextLine. After a failure they are dropped: the statement has failed already. */
  push(lines: string): void {
    if (this.chunk.length > 0 && this.chunk.length + lines.length > FEED_CHUNK_CHARS) this.send()
    this.chunk += lines
  }

  /** Sends what is left and ends the COPY; the statement then completes (or fails). */
  end(): void {
    this.ending = true
    this.send()
  }

  /** Cancels the COPY (the server answers it with an error), so the connection can roll back. */
  abandon(reason: Error): void {
    this.chunk = ''
    this.ending = false
    const stream = this.stream
    if (stream !== undefined && this.failure === undefined && !stream.destroyed) stream.destroy(reason)
  }

  /** @internal by `runMarkedCopies` */
  attach(stream: Writable): void {
    this.stream = stream
    stream.on('error', (error: Error) => {
      this.failure = error
      this.settleReady(error)
    })
    // An empty chunk is flushed, and its callback called, once the server's CopyInResponse is in.
    stream.write(Buffer.alloc(0), (error) => this.settleReady(error ?? undefined))
  }

  private send(): void {
    const stream = this.stream
    if (stream === undefined || this.failure !== undefined || stream.destroyed) {
      this.chunk = ''
      return
    }
    // A chunk still waits for the socket: its callback comes back here.
    if (stream.writableLength > 0) return
    if (this.chunk !== '') {
      const chunk = this.chunk
      this.chunk = ''
      stream.write(chunk, () => this.send())
      if (stream.writableLength > 0) return
    }
    if (this.ending) {
      this.ending = false
      stream.end()
    }
  }
}

/**
 * A COPY into `table` of `rows`: lines from copyTextLine, or a feed the caller pushes them into.
 * Only on connections of a pool given to `runMarkedCopies`.
 */
export function copyIn(table: string, columns: readonly string[], rows: string | CopyFeed): RawBuilder<unknown> {
  const names = sql.join(columns.map((c) => sql.id(c)))
  return sql`${sql.raw(MARKER)}COPY ${sql.id(table)} (${names}) FROM STDIN ${rows}`
}

/** Runs the statements `copyIn` makes as COPY on every connection of `pool`. */
export function runMarkedCopies(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    client.query = ((...args: unknown[]) => {
      const [text, values] = args
      const copy = typeof text === 'string' && args.length === 2 ? MARKED.exec(text)?.[1] : undefined
      if (copy === undefined) return query(...args)
      const [rows] = values as [string | CopyFeed]
      const stream = query(copyFrom(copy)) as ReturnType<typeof copyFrom>
      if (rows instanceof CopyFeed) rows.attach(stream)
      else stream.end(rows)
      return finished(stream).then(() => ({ command: 'COPY', rowCount: stream.rowCount, rows: [] }))
    }) as typeof client.query
  })
}
